"""The Slurm checks of scripts/test-slurm (see there): a one-node cluster of our own, three checks, teardown.

Everything lives in one temporary folder: munge key and socket, slurm.conf (free loopback ports), state and
spool folders, logs, the archive and the outputs. The daemons are children of this script and are stopped by
process id in a finally block; the folder is removed after.
"""
import glob, hashlib, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN_DIR = os.path.join(ROOT, ".build", "release")
BIN = os.path.join(BIN_DIR, "onsr-video")
SCRIPT = os.path.join(ROOT, "docs", "restore.sbatch")
SAMPLE = os.path.join(ROOT, "samples", "cockatoo-320x180.mp4")
OPTIONS = "--method bicubic"


def log(message):
    print(f"test-slurm: {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """munged, slurmctld and slurmd for one node, owned by this process."""

    def __init__(self, folder):
        self.folder = folder
        self.host = socket.gethostname().split(".")[0]
        self.processes = []
        self.conf = os.path.join(folder, "slurm.conf")
        self.env = dict(os.environ, SLURM_CONF=self.conf)

    def start(self):
        f = self.folder
        for sub in ("state", "spool"):
            os.makedirs(os.path.join(f, sub))
        key = os.path.join(f, "munge.key")
        with open(key, "wb") as out:
            out.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.spawn(["munged", "--foreground", "--force", f"--socket={f}/munge.socket", f"--key-file={key}",
                    f"--pid-file={f}/munged.pid", f"--log-file={f}/munged.log", f"--seed-file={f}/munged.seed"], "munged")
        self.wait_for(lambda: os.path.exists(f"{f}/munge.socket"), "munge socket")
        with open(self.conf, "w") as out:
            out.write(f"""ClusterName=onsrtest
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser={os.environ.get("USER") or "root"}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={f}/munge.socket
StateSaveLocation={f}/state
SlurmdSpoolDir={f}/spool
SlurmctldPidFile={f}/slurmctld.pid
SlurmdPidFile={f}/slurmd.pid
SlurmctldLogFile={f}/slurmctld.log
SlurmdLogFile={f}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=3600
KillWait=5
NodeName={self.host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=500 State=UNKNOWN
PartitionName=test Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")
        self.spawn(["slurmctld", "-D", "-f", self.conf], "slurmctld")
        time.sleep(1)
        self.spawn(["slurmd", "-D", "-f", self.conf, "-N", self.host], "slurmd")
        self.wait_for(lambda: self.node_state() == "idle", "the node to be idle", timeout=60)

    def spawn(self, command, name):
        out = open(os.path.join(self.folder, f"{name}.out"), "w")
        self.processes.append((name, subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                                      start_new_session=True)))

    def stop(self):
        subprocess.run(["scancel", "--full", "--user", os.environ.get("USER") or "root"], env=self.env, capture_output=True)
        for name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.time() + 20
        for name, process in reversed(self.processes):
            try:
                process.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # Job steps the daemons started (slurmstepd) leave with them; anything left under our folder is killed.
        leftovers = subprocess.run(["pgrep", "-f", self.folder], capture_output=True, text=True).stdout.split()
        for pid in leftovers:
            if int(pid) != os.getpid():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return [name for name, process in self.processes if process.poll() is None]

    def wait_for(self, condition, what, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return
            for name, process in self.processes:
                if process.poll() is not None:
                    raise SystemExit(f"test-slurm: {name} exited ({process.returncode}); see {self.folder}/{name}.out")
            time.sleep(0.2)
        raise SystemExit(f"test-slurm: timed out waiting for {what}")

    def slurm(self, *command):
        result = subprocess.run(list(command), env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"test-slurm: {' '.join(command)} failed: {result.stderr.strip()}")
        return result.stdout

    def node_state(self):
        try:
            return self.slurm("sinfo", "-h", "-n", self.host, "-o", "%T").strip().rstrip("*")
        except SystemExit:
            return ""

    def submit(self, archive, out, tasks=3, options=OPTIONS, extra=()):
        env = dict(self.env, ARCHIVE=archive, OUT=out, ONSR_OPTIONS=options, PATH=BIN_DIR + ":" + os.environ["PATH"])
        logs = os.path.join(self.folder, "logs")
        os.makedirs(logs, exist_ok=True)
        result = subprocess.run(["sbatch", "--parsable", f"--array=0-{tasks - 1}", "--cpus-per-task=1", "--mem=100M",
                                 f"--output={logs}/onsr-%A_%a.log", "--chdir", self.folder, *extra, SCRIPT],
                                env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"test-slurm: sbatch failed: {result.stderr.strip()}")
        return result.stdout.strip().split(";")[0]

    def tasks(self, job):
        """Array task index -> (state, exit code) of every task of `job`."""
        text = self.slurm("scontrol", "-o", "show", "job", job)
        found = {}
        for line in text.splitlines():
            task = re.search(r"ArrayTaskId=(\d+)", line)
            state = re.search(r"JobState=(\S+)", line)
            code = re.search(r"ExitCode=(\d+):(\d+)", line)
            if task and state and code:
                found[int(task.group(1))] = (state.group(1), int(code.group(1)))
        return found

    def wait_job(self, job, timeout=300):
        self.wait_for(lambda: not self.slurm("squeue", "-h", "-j", job).strip(), f"job {job} to finish", timeout)


def make_archive(folder):
    os.makedirs(os.path.join(folder, "frames"))
    for k in range(8):
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-ss", str(k * 0.45), "-i", SAMPLE, "-t", "0.45", "-c:v", "libx264",
                        "-preset", "ultrafast", "-c:a", "aac", os.path.join(folder, f"clip{k}.mp4")], check=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", SAMPLE, "-frames:v", "6", "-start_number", "1",
                    os.path.join(folder, "frames", "f%d.png")], check=True)
    whole = os.path.join(folder, "whole.tmp")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", SAMPLE, "-c", "copy", "-movflags", "+faststart", whole + ".mp4"], check=True)
    with open(whole + ".mp4", "rb") as f:
        data = f.read()
    with open(os.path.join(folder, "broken.mp4"), "wb") as f:
        f.write(data[:len(data) * 6 // 10])
    os.remove(whole + ".mp4")


def add_long_clip(folder):
    """A clip long enough (60 s) to be caught while it is being written."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "14", "-i", SAMPLE, "-c", "copy",
                    os.path.join(folder, "long.mp4")], check=True)


def hashes(out):
    """Decoded-frame hashes of every output (videos and PNGs), by relative path."""
    found = {}
    for path in sorted(glob.glob(os.path.join(out, "**", "*"), recursive=True)):
        if os.path.isdir(path) or "/.onsr-batch" in path:
            continue
        frames = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"],
                                capture_output=True, text=True, check=True).stdout
        lines = [line.split(",")[-1].strip() for line in frames.splitlines() if line and not line.startswith("#")]
        found[os.path.relpath(path, out)] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return found


def records(out):
    """(shard file, record) for every manifest line."""
    found = []
    for path in sorted(glob.glob(os.path.join(out, ".onsr-batch", "manifest-*.jsonl"))):
        with open(path) as f:
            found += [(os.path.basename(path), json.loads(line)) for line in f if line.strip()]
    return found


def check(condition, message):
    if not condition:
        raise SystemExit(f"test-slurm: FAILED: {message}")
    log(f"ok: {message}")


def done_counts(out):
    counts = {}
    for _, record in records(out):
        if record["state"] == "done":
            counts[record["item"]] = counts.get(record["item"], 0) + 1
    return counts


def leftovers(out):
    partials = [p for p in glob.glob(os.path.join(out, "**", ".*onsr-partial*"), recursive=True)]
    locks = glob.glob(os.path.join(out, ".onsr-batch", "locks", "*"))
    return partials + locks


def wait_for_partial(cluster, out, name, timeout=120):
    cluster.wait_for(lambda: glob.glob(os.path.join(out, f".{name}.onsr-partial*")), f"{name} to be written", timeout)


def shard_of(out, item):
    """The task index whose manifest started `item`."""
    for file, record in records(out):
        if record["item"] == item:
            return int(re.match(r"manifest-(\d+)-of-\d+\.jsonl", file).group(1))
    return None


def main():
    with open(SCRIPT) as f:
        script = f.read()
    with open(os.path.join(ROOT, "docs", "restore-job.yaml")) as f:
        manifest = f.read()
    with open(os.path.join(ROOT, "docs", "scale-out.md")) as f:
        doc = f.read()
    check("```bash\n" + script + "```" in doc, "docs/scale-out.md shows docs/restore.sbatch as it is")
    check("```yaml\n" + manifest + "```" in doc, "docs/scale-out.md shows docs/restore-job.yaml as it is")
    started = time.time()
    folder = tempfile.mkdtemp(prefix="onsr-slurm-")
    cluster = Cluster(folder)
    try:
        cluster.start()
        log(f"cluster up: node {cluster.host} idle ({time.time() - started:.0f} s)")
        archive = os.path.join(folder, "archive")
        make_archive(archive)
        reference = os.path.join(folder, "reference")
        local = subprocess.run([BIN, "batch", archive, "--out", reference, "-q"] + OPTIONS.split(), capture_output=True, text=True)
        check(local.returncode == 65, f"a local batch run fails the damaged item (exit {local.returncode})")
        expected = hashes(reference)
        items = sorted(r["item"] for _, r in records(reference) if r["state"] == "done")

        # 1. A 3-task array: every item exactly once, the outputs of the local run, 65 where the damaged item was.
        out = os.path.join(folder, "out1")
        job = cluster.submit(archive, out)
        cluster.wait_job(job)
        counts = done_counts(out)
        check(sorted(counts) == items and set(counts.values()) == {1}, f"array {job}: {len(items)} items each done exactly once")
        failed = [(file, r) for file, r in records(out) if r["state"] == "failed"]
        check([r["item"] for _, r in failed] == ["broken.mp4"], "the damaged item is recorded as failed")
        broken_shard = shard_of(out, "broken.mp4")
        tasks = cluster.tasks(job)
        check(sorted(tasks) == [0, 1, 2] and all(state == "COMPLETED" or code == 65 for state, code in tasks.values()),
              f"all three tasks ran: {tasks}")
        check(all((code == 65) == (task == broken_shard) for task, (state, code) in tasks.items()),
              f"the task that held the damaged item (task {broken_shard}) exits 65, the others 0")
        check(hashes(out) == expected, "outputs equal the local run's (decoded frame hashes)")
        check(not leftovers(out), "no partial file or lock is left")

        # 1b. One item with a learned method.
        clip = os.path.join(archive, "clip3.mp4")
        pretrained_local = os.path.join(folder, "pretrained-local")
        subprocess.run([BIN, "batch", clip, "--out", pretrained_local, "-q", "--method", "pretrained"], check=True)
        out = os.path.join(folder, "out-pretrained")
        job = cluster.submit(clip, out, tasks=1, options="--method pretrained")
        cluster.wait_job(job)
        check(cluster.tasks(job)[0][1] == 0 and hashes(out) == hashes(pretrained_local) and len(hashes(out)) == 1,
              "a --method pretrained item through Slurm equals the local run")

        # 2. A task cancelled while it writes an item; the same array again finishes exactly what was left.
        add_long_clip(archive)
        out = os.path.join(folder, "out2")
        job = cluster.submit(archive, out)
        wait_for_partial(cluster, out, "long.mp4")
        victim = shard_of(out, "long.mp4")
        cluster.slurm("scancel", f"{job}_{victim}")
        cluster.wait_job(job)
        check(cluster.tasks(job)[victim][0] == "CANCELLED", f"task {victim} was cancelled while writing long.mp4")
        first = done_counts(out)
        check("long.mp4" not in first, "the interrupted item is not recorded as done")
        rerun = cluster.submit(archive, out)
        cluster.wait_job(rerun)
        counts = done_counts(out)
        check(sorted(counts) == sorted(items + ["long.mp4"]) and set(counts.values()) == {1},
              "after resubmitting, every item is done exactly once (the rerun did only what was left)")
        check(not leftovers(out), "no partial file or lock is left after the rerun")
        local_long = os.path.join(folder, "reference-long")
        subprocess.run([BIN, "batch", archive, "--out", local_long, "-q"] + OPTIONS.split(), capture_output=True)
        check(hashes(out) == hashes(local_long), "outputs equal a local run's")

        # 3. Drain the node mid-run, requeue the task writing the long item, resume: finished, nothing twice.
        out = os.path.join(folder, "out3")
        job = cluster.submit(archive, out)
        wait_for_partial(cluster, out, "long.mp4")
        victim = shard_of(out, "long.mp4")
        cluster.slurm("scontrol", "update", f"nodename={cluster.host}", "state=drain", "reason=onsr-test")
        cluster.slurm("scontrol", "requeue", f"{job}_{victim}")
        time.sleep(3)
        state = cluster.tasks(job)[victim][0]
        check(state in ("PENDING", "REQUEUED", "COMPLETING", "REQUEUE_HOLD"), f"the requeued task waits while the node is drained ({state})")
        cluster.slurm("scontrol", "update", f"nodename={cluster.host}", "state=resume")
        cluster.wait_job(job)
        counts = done_counts(out)
        check(sorted(counts) == sorted(items + ["long.mp4"]) and set(counts.values()) == {1},
              "after drain, requeue and resume every item is done exactly once")
        check(not leftovers(out), "no partial file or lock is left")
        check(hashes(out) == hashes(local_long), "outputs equal a local run's")
        log(f"passed in {time.time() - started:.0f} s")
    finally:
        still = cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
        left = subprocess.run(["pgrep", "-f", folder], capture_output=True, text=True).stdout.split()
        if still or left:
            raise SystemExit(f"test-slurm: FAILED: processes left behind: {still} {left}")
        log("cluster stopped, nothing left behind")


if __name__ == "__main__":
    main()
