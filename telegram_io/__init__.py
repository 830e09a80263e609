"""telegram_io"""
