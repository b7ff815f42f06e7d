# weft-httpd and weft-get against real clients and servers on 127.0.0.1.
PYTESTS += tests/integration/test_http.py
PYTESTS += tests/integration/test_http_get.py
