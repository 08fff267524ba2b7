print("stazctl")
