"""market/exchange"""
