-- The DuckDB contract (docs/schema.md explains every column). Later versions may add columns and
-- tables, never rename. Columns not measured yet are NULL, never a made-up value.

CREATE TABLE IF NOT EXISTS runs (
    run_id          VARCHAR PRIMARY KEY,
    flow_run_id     VARCHAR,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    calls_ok        INTEGER,
    calls_failed    INTEGER,
    asr_model       VARCHAR,
    scorecard_hash  VARCHAR,
    scorecard_name  VARCHAR,
    input_dir       VARCHAR
);

CREATE TABLE IF NOT EXISTS calls (
    call_id             VARCHAR PRIMARY KEY,
    audio_path          VARCHAR NOT NULL,
    audio_sha256        VARCHAR,            -- NULL: scored from a transcript file (qa-pipeline score)
    agent_id            VARCHAR,
    direction           VARCHAR CHECK (direction IN ('inbound', 'outbound')),
    call_type           VARCHAR,
    call_type_source    VARCHAR CHECK (call_type_source IN ('metadata', 'inferred')),
    started_at          TIMESTAMP,
    duration_s          DOUBLE,
    channels            INTEGER,
    sample_rate         INTEGER,
    diarization         VARCHAR NOT NULL CHECK (diarization IN ('channel', 'pyannote', 'embedded', 'external', 'none')),
    asr_model           VARCHAR NOT NULL,
    ring_count          INTEGER,
    ring_s              DOUBLE,
    talk_s              DOUBLE,
    hold_s              DOUBLE,
    silence_s           DOUBLE,
    time_to_topic_s     DOUBLE,
    interruptions       INTEGER,
    qa_score            DOUBLE CHECK (qa_score BETWEEN 0 AND 100),
    qa_passed           BOOLEAN,
    satisfaction        DOUBLE,
    satisfaction_source VARCHAR,
    case_id             VARCHAR,
    run_id              VARCHAR NOT NULL,
    processed_at        TIMESTAMP NOT NULL,
    -- beyond the issue's contract, from metadata and the decoder
    codec               VARCHAR,
    answered_at         TIMESTAMP,
    ended_at            TIMESTAMP,
    acw_s               DOUBLE,
    caller_number       VARCHAR,
    agent_channel       INTEGER,
    scorecard_hash      VARCHAR,
    extra               JSON
);

-- Timings measured from the audio (qa_pipeline/measures/). Added with ALTER so that a database written
-- by an earlier version gains them in place; rows written before stay NULL there.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS answer_s DOUBLE;             -- file start -> answer
ALTER TABLE calls ADD COLUMN IF NOT EXISTS answer_source VARCHAR;       -- ringback | line | speech | metadata | start
ALTER TABLE calls ADD COLUMN IF NOT EXISTS ring_source VARCHAR;         -- audio | metadata: which gave ring_count
ALTER TABLE calls ADD COLUMN IF NOT EXISTS ring_count_audio INTEGER;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS ring_s_audio DOUBLE;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS ring_count_metadata INTEGER;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS ring_s_metadata DOUBLE;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS ringback_channel VARCHAR;    -- agent | customer | mix
ALTER TABLE calls ADD COLUMN IF NOT EXISTS direction_source VARCHAR;    -- metadata | ringback | first_speaker
ALTER TABLE calls ADD COLUMN IF NOT EXISTS hold_s_audio DOUBLE;            -- silences after a hold notice
ALTER TABLE calls ADD COLUMN IF NOT EXISTS hold_source VARCHAR;         -- metadata | audio: which gave hold_s
ALTER TABLE calls ADD COLUMN IF NOT EXISTS agent_talk_s DOUBLE;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS customer_talk_s DOUBLE;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS agent_talk_ratio DOUBLE;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS agent_chars_per_minute DOUBLE;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS raised_voice INTEGER;        -- raised-voice stretches of the agent
ALTER TABLE calls ADD COLUMN IF NOT EXISTS ended_by VARCHAR;            -- agent | customer | unknown
ALTER TABLE calls ADD COLUMN IF NOT EXISTS customer_cut_off BOOLEAN;

-- Mono diarization (qa_pipeline/asr/diarize.py, roles.py); NULL on stereo and transcript files.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS diarization_confidence DOUBLE; -- 0..1, how clearly the voices separate
ALTER TABLE calls ADD COLUMN IF NOT EXISTS role_confidence DOUBLE;        -- 0..1, how sure which voice is the agent
ALTER TABLE calls ADD COLUMN IF NOT EXISTS speakers_found INTEGER;        -- voices the diarizer found
ALTER TABLE calls ADD COLUMN IF NOT EXISTS role_note VARCHAR;             -- why these roles, or why none

-- Timed stretches behind the timing numbers and checks, for review: every ring, silence, hold,
-- interruption, raised-voice stretch and cut-off, with its seconds in the recording.
CREATE TABLE IF NOT EXISTS call_events (
    call_id  VARCHAR NOT NULL,
    kind     VARCHAR NOT NULL CHECK (kind IN ('ring', 'silence', 'hold', 'interruption', 'raised_voice', 'cut_off')),
    start_s  DOUBLE NOT NULL,
    end_s    DOUBLE NOT NULL,
    text     VARCHAR
);

-- Who spoke when on a diarized mono call: every turn the diarizer found, with its label and the role
-- role assignment gave that label ('unknown' when the roles could not be told apart).
CREATE TABLE IF NOT EXISTS speaker_turns (
    call_id  VARCHAR NOT NULL,
    start_s  DOUBLE NOT NULL,
    end_s    DOUBLE NOT NULL,
    label    VARCHAR NOT NULL,
    role     VARCHAR NOT NULL CHECK (role IN ('agent', 'customer', 'unknown'))
);

CREATE TABLE IF NOT EXISTS segments (
    call_id     VARCHAR NOT NULL,
    seq         INTEGER NOT NULL,
    speaker     VARCHAR NOT NULL CHECK (speaker IN ('agent', 'customer', 'unknown')),
    start_s     DOUBLE NOT NULL,
    end_s       DOUBLE NOT NULL,
    text        VARCHAR NOT NULL,
    confidence  DOUBLE
);

CREATE TABLE IF NOT EXISTS check_results (
    call_id          VARCHAR NOT NULL,
    check_id         VARCHAR NOT NULL,
    applicable       BOOLEAN NOT NULL,
    passed           BOOLEAN,
    score            DOUBLE,
    weight           DOUBLE NOT NULL,
    evidence_start_s DOUBLE,
    evidence_end_s   DOUBLE,
    evidence_text    VARCHAR,
    detail           JSON,
    fatal            BOOLEAN NOT NULL DEFAULT false
);

CREATE TABLE IF NOT EXISTS failures (
    run_id      VARCHAR NOT NULL,
    audio_path  VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,
    error       VARCHAR NOT NULL,
    "at"        TIMESTAMP NOT NULL  -- quoted: AT is a keyword in DuckDB 2
);

-- The check catalogue as registered when the run wrote it: lets KPI views tell script checks
-- (mandated phrases) from conduct checks (forbidden behaviour).
CREATE TABLE IF NOT EXISTS checks (
    check_id  VARCHAR PRIMARY KEY,
    category  VARCHAR NOT NULL,
    title     VARCHAR NOT NULL
);

-- The scorecard's pass mark when the call was scored: lets a call's score be recomputed in SQL after a
-- QA lead overrides one of its checks (kpis/call_facts.sql). NULL on rows written before it existed.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS pass_score DOUBLE;

-- QA leads' verdicts on single checks (`qa-pipeline review`). Never updated or deleted: the latest
-- review of a (call, check) is the verdict in force (kpis/check_verdicts.sql), earlier ones are the
-- history. check_results keeps the machine's own verdict untouched.
CREATE SEQUENCE IF NOT EXISTS review_ids;
CREATE TABLE IF NOT EXISTS reviews (
    review_id       BIGINT PRIMARY KEY DEFAULT nextval('review_ids'),
    call_id         VARCHAR NOT NULL,
    check_id        VARCHAR NOT NULL,
    verdict         VARCHAR NOT NULL CHECK (verdict IN ('pass', 'fail', 'na')),
    machine_verdict VARCHAR CHECK (machine_verdict IN ('pass', 'fail', 'na')),  -- the machine's, when reviewed
    reviewer        VARCHAR NOT NULL,
    note            VARCHAR,
    reviewed_at     TIMESTAMP NOT NULL
);

-- Agents the center has, including ones who took no call yet: KPI views list them with 0 calls.
-- Agents seen in `calls` are listed whether or not they are here. Filled by the center (INSERT).
CREATE TABLE IF NOT EXISTS agents (
    agent_id VARCHAR PRIMARY KEY,
    name     VARCHAR,
    team     VARCHAR
);

-- The scorecard's [kpis] settings the case views read (written by every run; these rows are the
-- defaults for a database no run has written).
CREATE TABLE IF NOT EXISTS kpi_settings (
    name  VARCHAR PRIMARY KEY,
    value DOUBLE NOT NULL
);
INSERT OR IGNORE INTO kpi_settings VALUES
    ('case_window_hours', 72), ('repeat_window_days', 7), ('callback_window_hours', 24), ('quick_solve_s', 60);

-- Incremental runs (qa_pipeline/run/plan.py): the digest of what the call was scored from (audio,
-- ASR model, scorecard, metadata row, speaker settings). A run skips a call whose digest is unchanged.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS input_fingerprint VARCHAR;

-- How a run ended: running (or killed: the next run marks it interrupted), completed, partial (some
-- recordings failed), failed (the run itself stopped on an error).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS status VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS calls_unchanged INTEGER;  -- skipped: already scored from the same inputs
ALTER TABLE runs ADD COLUMN IF NOT EXISTS audio_s DOUBLE;           -- seconds of audio scored

-- Personal data masked before the call was stored (qa_pipeline/privacy/protect.py): where each masked entity was
-- and its kind, never its characters. location: segments:<seq>, check_results:<check_id>[:detail],
-- call_events:<kind>@<start_s>, calls.topic_text, calls.extra, pace@<start_s>; start_char/end_char: its
-- characters in that text (-1 inside JSON).
CREATE TABLE IF NOT EXISTS redactions (
    call_id    VARCHAR NOT NULL,
    location   VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    start_char INTEGER NOT NULL,
    end_char   INTEGER NOT NULL,
    start_s    DOUBLE,            -- seconds where it was said (segments): muted in the report's audio
    end_s      DOUBLE
);

-- Every audio file a run took, by name, and the call its audio was scored as. The same recording
-- exported twice under different names (same sha256) is scored once; its second name is listed here
-- with duplicate_of = the file that was scored.
CREATE TABLE IF NOT EXISTS recording_files (
    audio_path    VARCHAR PRIMARY KEY,
    audio_sha256  VARCHAR NOT NULL,
    call_id       VARCHAR NOT NULL,  -- the call this file's audio is scored as
    listed_as     VARCHAR,           -- the call_id this file would have had (metadata row or file name)
    duplicate_of  VARCHAR,           -- NULL for the file that was scored
    run_id        VARCHAR NOT NULL,  -- the last run that saw the file
    seen_at       TIMESTAMP NOT NULL
);

-- Share of the recording's samples at full scale (qa_pipeline/audio/screening.py): a recording made too hot.
-- Its loudness-based measures (raised voice) and ASR suffer; the call is still scored.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS clipped_fraction DOUBLE;

-- Whether the machine's verdict on the call counts (qa_pipeline/scoring.py, issue 19). judged false:
-- qa_score and qa_passed are NULL and not_judged_reason says why: no_speakers (no speaker attribution),
-- roles_unclear (diarized, roles below [roles] min_confidence), no_checks (no applicable weighted check),
-- too_few_checks (judged_share below [scorecard] min_judged_share). KPI views count these calls apart
-- (calls_not_judged), never as passes. NULL on rows written before it existed (judged when qa_score is set).
ALTER TABLE calls ADD COLUMN IF NOT EXISTS judged BOOLEAN;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS not_judged_reason VARCHAR;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS judged_share DOUBLE;      -- weight applicable / weight of all the call's checks
ALTER TABLE calls ADD COLUMN IF NOT EXISTS min_judged_share DOUBLE;  -- the scorecard's mark (kpis/call_facts.sql re-judges reviewed calls)

-- What the checks read of each call (its transcript as said, its measures, its audio facts), sealed with a key
-- kept outside the database (qa_pipeline/privacy/seal.py: Fernet, <database stem>.key or $QA_PIPELINE_INPUTS_KEY),
-- so a changed scorecard re-judges the call without transcribing it again (qa_pipeline/run/rejudge.py) and
-- `qa-pipeline backtest` can try a scorecard on stored calls. Never readable without the key.
CREATE TABLE IF NOT EXISTS call_inputs (
    call_id    VARCHAR PRIMARY KEY,
    sealed     BLOB NOT NULL,
    sealed_at  TIMESTAMP NOT NULL
);

-- The digest of the scorecard settings the stages up to measure read (run.call.CallSettings.measure_inputs_hash):
-- equal -> a scorecard change only re-judges the call.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS measure_inputs_hash VARCHAR;

-- An agent's dispute of a verdict on their call (`qa-pipeline serve`), and a QA lead's ruling on it
-- (qa_pipeline/store/disputes.py). A ruling is given once and is final: it is also written as a review by the
-- lead (upheld: the disputed verdict; overturned: the verdict the lead gives), so the verdict in force and the
-- KPIs follow it, and no later review of that check of that call is taken.
CREATE SEQUENCE IF NOT EXISTS dispute_ids;
CREATE TABLE IF NOT EXISTS disputes (
    dispute_id       BIGINT PRIMARY KEY DEFAULT nextval('dispute_ids'),
    call_id          VARCHAR NOT NULL,
    check_id         VARCHAR NOT NULL,
    agent_id         VARCHAR NOT NULL,
    disputed_verdict VARCHAR NOT NULL CHECK (disputed_verdict IN ('pass', 'fail', 'na')),  -- in force when disputed
    note             VARCHAR NOT NULL,  -- the agent's reason, personal data masked
    opened_by        VARCHAR NOT NULL,
    opened_at        TIMESTAMP NOT NULL,
    ruling           VARCHAR CHECK (ruling IN ('upheld', 'overturned')),  -- NULL while open
    final_verdict    VARCHAR CHECK (final_verdict IN ('pass', 'fail', 'na')),
    ruled_by         VARCHAR,
    ruling_note      VARCHAR,
    ruled_at         TIMESTAMP,
    review_id        BIGINT  -- the review the ruling wrote
);

-- An agent's acknowledgement that they read a review of their call.
CREATE TABLE IF NOT EXISTS review_acknowledgements (
    review_id        BIGINT NOT NULL,
    agent_id         VARCHAR NOT NULL,
    acknowledged_by  VARCHAR NOT NULL,
    acknowledged_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (review_id, agent_id)
);
