# Same-work comparison (parse + validate + aggregate per customer) with Python's csv module, on the very same file.
import csv, sys, time, resource, datetime
from decimal import Decimal, InvalidOperation
t0 = time.perf_counter(); rows = rejected = 0; profiles = {}
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    reader = csv.DictReader(f)
    for row in reader:
        rows += 1
        try:
            when = datetime.datetime.strptime(row["order_date"], "%Y-%m-%dT%H:%M:%SZ")
            qty = Decimal(row["quantity"]); price = Decimal(row["unit_price"]); amount = Decimal(row["amount"])
            if not row["order_id"] or not row["customer_id"] or qty <= 0 or amount < 0 or amount > 1_000_000 or len(row["product_id"]) > 128:
                raise ValueError("invalid")
        except (ValueError, InvalidOperation, KeyError):
            rejected += 1; continue
        p = profiles.setdefault(row["customer_id"], {"orders": set(), "spend": Decimal(0), "lines": []})
        key = (row["order_id"], row["line"])
        if key in p["orders"]:
            continue
        p["orders"].add(key); p["spend"] += amount
        p["lines"].append((row["order_id"], when, row["product_id"], qty, price, amount, row["channel"], row["returned"] == "true"))
wall = time.perf_counter() - t0
cpu = resource.getrusage(resource.RUSAGE_SELF)
print({"rows": rows, "rejected": rejected, "customers": len(profiles), "seconds": round(wall, 3),
       "rows_per_sec": round(rows / wall), "cpu_seconds": round(cpu.ru_utime + cpu.ru_stime, 3), "peak_rss_mb": round(cpu.ru_maxrss / 1024, 1)})
