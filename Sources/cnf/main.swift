print("cnf")
