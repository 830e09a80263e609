"""bot/answering"""
