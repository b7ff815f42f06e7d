# Integration tests of weft-smtpd: smtplib, swaks and raw sockets against
# the real server on 127.0.0.1.
PYTESTS += tests/integration/test_smtp.py
