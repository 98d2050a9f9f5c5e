import ArgumentParser
import AsyncHTTPClient
import TandemServer
print("x")
