# Orders CSV in the ingest benchmark's layout: 1,000,000 lines, orders of 1-4 lines by 50,000 customers, in date order.
import random, datetime, sys
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
r = random.Random(42); ch = ["web", "app", "store"]
d = datetime.datetime(2021, 1, 1, 8); order = 0; left = 0
with open(sys.argv[1], "w", newline="") as f:
    f.write("order_id,customer_id,order_date,line,product_id,quantity,unit_price,amount,currency,channel,returned\n")
    for _ in range(rows):
        if left == 0:
            order += 1; n = 1 + r.randrange(4); left = n; line = 0
            cust = r.randrange(1, 50_000); d += datetime.timedelta(seconds=r.randrange(1, 60))
        left -= 1; line += 1
        q = 1 + r.randrange(5); cents = 199 + r.randrange(20_000); total = q * cents
        f.write(f"O{order},C{cust},{d:%Y-%m-%dT%H:%M:%SZ},{line},P-{r.randrange(1,5000)},{q},{cents//100}.{cents%100:02d},{total//100}.{total%100:02d},USD,{ch[order%3]},{'true' if r.randrange(50)==0 else 'false'}\n")
