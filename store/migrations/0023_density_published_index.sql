-- The published density counts, indexed in the collection's key order (issue 16, dens16).
-- GET /ogc/collections/report-density/items with no filter answered 503 at 1,000,000 reports:
-- the page was ordered by the view's id, a concat_ws computed for every one of the 3,000,000
-- density counts before the sort (past the public role's 5 s statement timeout). The page is now
-- ordered by the key columns the id joins (ogc/provider.py `_order`, `id_columns`), the order of
-- this index, which holds only the counts that can be published (n >= 2: 17 % of the counts on
-- 1,000,000 reports; the rest are 1s) with n itself, so that skipping a suppressed count needs
-- no heap visit. open.ogc_report_density says `d.n >= 2` so that the planner may use it, and
-- LEFT JOINs the cells so that it reads the counts in this order (store/sql/70_ogc_views.sql).
--
-- The index's predicate may not read the policy's k, so it takes the least k the policy allows:
-- store/privacy.py has always refused k < 2 (`ge=2`); the table's CHECK said k >= 1. It now says
-- what the application does, so that `count >= 2` can never hide a count the policy publishes.
SET LOCAL ROLE threatmap_app;

ALTER TABLE core.privacy_policy
    DROP CONSTRAINT privacy_policy_k_check,
    ADD CONSTRAINT privacy_policy_k_check CHECK (k >= 2);

CREATE INDEX density_counts_published ON core.density_counts
    (cell_m, cx, cy, category_id, status, month) INCLUDE (n) WHERE n >= 2;
