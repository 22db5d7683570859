import CNFCore
