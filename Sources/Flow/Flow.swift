import CNFCore
import ODE
