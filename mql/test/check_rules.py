import sys; print("rules: todo")
