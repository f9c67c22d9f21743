"""One module per workload; each exposes ``run(config) -> WorkloadResult``."""
