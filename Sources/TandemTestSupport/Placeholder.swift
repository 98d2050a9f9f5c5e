import AsyncHTTPClient
public enum TestSupportPlaceholder {}
