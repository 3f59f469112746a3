-- The maintenance jobs' runs (issue 16, point 2): with several server processes (threatmap serve
-- --workers N, or replicas on several machines) each process runs the job loops, and each run
-- first takes the job's advisory lock and then looks here: a job whose last run started less
-- than its period ago is not due, so a job runs once a period across all processes, never twice
-- at a time (store/schedule.py). Rows older than 30 days are deleted by the run that adds one.
SET LOCAL ROLE threatmap_app;

CREATE TABLE core.maintenance_runs (
    id bigserial PRIMARY KEY,
    job text NOT NULL CHECK (job ~ '^[a-z_]{1,40}$'),
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    worker text NOT NULL
);

CREATE INDEX maintenance_runs_job_started ON core.maintenance_runs (job, started_at DESC);
