"""Every `hookbin` command, one module per feature; `hookbin.cli` loads each one only when it runs.

serve (serve.py), ls and show (captures.py), respond (respond.py), send (send.py), report and
deliveries (report.py), export, import and clear (export.py); common.py holds what they share:
`--db`, opening the store, the `ls` filters, exit statuses.
"""
