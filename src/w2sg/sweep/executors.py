"""Executors: run jobs in this process, in N local processes, or as Ray tasks."""

from __future__ import annotations

from w2sg.sweep.jobs import Job, run_job


class InProcessExecutor:
    name = "in-process"

    def __init__(self, workdir: str, data_dir: str | None):
        self.workdir, self.data_dir = workdir, data_dir

    def map(self, jobs: list[Job]):
        for job in jobs:
            yield job, run_job(self.workdir, self.data_dir, job)

    def close(self):
        pass


def _init_worker(threads: int, gpu_queue) -> None:
    import os

    if gpu_queue is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu_queue.get())
    import torch

    torch.set_num_threads(max(1, threads))


class ProcessExecutor:
    """N local worker processes (spawned), each with its share of CPU threads and one GPU when GPUs exist."""

    name = "processes"

    def __init__(self, workdir: str, data_dir: str | None, workers: int):
        import multiprocessing as mp
        import os
        from concurrent.futures import ProcessPoolExecutor

        import torch

        ctx = mp.get_context("spawn")
        n_gpus = torch.cuda.device_count()
        gpu_queue = None
        if n_gpus:
            gpu_queue = ctx.Manager().Queue()
            for i in range(workers):
                gpu_queue.put(i % n_gpus)
        threads = max(1, (os.cpu_count() or 1) // workers)
        self.workdir, self.data_dir = workdir, data_dir
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(threads, gpu_queue))

    def map(self, jobs: list[Job]):
        from concurrent.futures import as_completed

        futures = {self.pool.submit(run_job, self.workdir, self.data_dir, j): j for j in jobs}
        for f in as_completed(futures):
            yield futures[f], f.result()

    def close(self):
        self.pool.shutdown()


class RayExecutor:
    """Jobs as Ray tasks (`num_gpus=1` each when the cluster has GPUs); outcomes flow back to the driver,
    which alone writes the results store. Workers share the cache when `workdir` is on a shared
    filesystem; otherwise each node keeps its own cache and recomputes what it lacks."""

    name = "ray"

    def __init__(self, workdir: str, data_dir: str | None, address: str | None = None, workers: int | None = None):
        import os

        if not address:
            # A local cluster listens on loopback only (Ray's "single machine" mode); read at `import ray`.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray
        except ImportError as e:
            raise ImportError("the Ray executor needs ray: pip install 'w2sg[ray]'") from e
        self.ray = ray
        if not ray.is_initialized():
            if not address:
                from ray._private import ray_constants  # ray imported before the variable was set

                ray_constants.ENABLE_RAY_CLUSTER = os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] != "0"
            kw = {"address": address} if address else ({"num_cpus": workers} if workers else {})
            ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **kw)
        gpus = ray.cluster_resources().get("GPU", 0)
        cpus = ray.cluster_resources().get("CPU", 1)
        per_task_cpus = max(1.0, cpus / workers) if workers else 1.0
        self.remote = ray.remote(num_gpus=1 if gpus else 0, num_cpus=per_task_cpus)(_ray_job)
        self.workdir, self.data_dir = workdir, data_dir

    def map(self, jobs: list[Job]):
        refs = {self.remote.remote(self.workdir, self.data_dir, j): j for j in jobs}
        pending = list(refs)
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], self.ray.get(ref)

    def close(self):
        pass


def _ray_job(workdir: str, data_dir: str | None, job: Job) -> dict:
    import os

    import torch

    torch.set_num_threads(max(1, int(float(os.environ.get("OMP_NUM_THREADS", "1")))))
    return run_job(workdir, data_dir, job)
