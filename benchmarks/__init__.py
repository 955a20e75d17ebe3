"""Benchmarks of qa_pipeline: speed, memory and accuracy measured in one run on one machine, never timed
assertions in the tests. Results go to benchmarks/results/ and the figures to docs/performance.md.

Run each as a module from the repository root (`--help` lists its options), with the project's venv:

    python -m benchmarks.throughput [--one-at-a-time] [--minutes 30] [--sets stereo,mono,real]
        the whole pipeline against plain faster-whisper on the same audio (`make throughput`)
    python -m benchmarks.asr_accuracy [--asr-model NAME_OR_DIR]
        character error rate of the pipeline's ASR path, real speech and the synthetic sample calls
    python -m benchmarks.timing_overhead
        what the measure stage (rings, silences, overtalk, pace, tone) adds to a call's processing time
    python -m benchmarks.check_share [--before SCORECARD] [--after SCORECARD]
        the check stage's share of a sample run's stage-seconds, one run per scorecard (before/after a change)
    python -m benchmarks.kpi_speed [--calls 100000]
        every `qa-pipeline kpis` query on a synthetic quarter-sized database
    python -m benchmarks.runners [--workers 2]
        the qa-batch flow's worker set-ups (threads, process pool, Dask) over the same calls
    python -m benchmarks.long_recordings --label before|after [--minutes 10 30 60 120] [--source DIR]
        memory and wall time of one hours-long recording, by length
    python -m benchmarks.diarization_speed [--minutes 10] [--device cpu|cuda|both]
        the two mono diarization backends, CPU against GPU
    python -m benchmarks.profile_run [--input sample_audio]
        where a run's time goes, sampled with py-spy (`make profile`)

`make bench` runs asr_accuracy, timing_overhead, kpi_speed, runners, long_recordings and throughput.
benchmarks.process_usage is a helper (a child process's wall, CPU and peak memory), not a benchmark.
Nothing here is imported by qa_pipeline or installed with it.
"""
