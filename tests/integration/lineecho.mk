# weft-lineecho (spec/lineecho.weft), the server of bench/echo.
PYTESTS += tests/integration/test_lineecho.py
