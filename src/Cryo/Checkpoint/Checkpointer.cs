using System.Diagnostics;
using Cryo.Check;
using Cryo.Cli;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Tracing;

namespace Cryo.Checkpoint;

/// <summary>What a checkpoint did, for the summary line and the STAT item.</summary>
internal sealed record CheckpointReport(int Processes, int Threads, long Bytes, long PageBytes, TimeSpan Frozen, string Phases);

/// <summary>
/// Checkpoints the tree rooted at a pid: freezes every thread (PTRACE_SEIZE + PTRACE_INTERRUPT)
/// before reading anything, plans the whole image (every resource kind reads its state and may
/// refuse), writes it, then kills the tree or lets it run on. Any failure or cancellation before
/// the image is complete detaches every thread with its registers as they were: the target runs
/// on unharmed and no partial file is left behind.
/// </summary>
internal sealed class Checkpointer(Tracer tracer, CheckpointOptions options, Log log)
{
    public CheckpointReport Run(int rootPid, string output, CancellationToken cancel)
    {
        var phases = new PhaseTimer();
        CheckRoot(rootPid);
        var frozen = new List<FrozenProcess>();
        var zombies = new Dictionary<int, ProcessInfo>();
        var seized = new List<int>();
        var snapshots = new List<ForkSnapshot>();
        var freezeClock = new Stopwatch();
        bool killed = false, thawed = false;
        bool snapshot = options.LeaveRunning && options.Snapshot;
        // The file exists before the freeze (and when --leave-running copies while frozen, has
        // its space reserved), so that the frozen window holds only the copy of the process.
        using var writer = OpenOutput(output, cancel);
        if (options.LeaveRunning && !snapshot)
        {
            ImageReservation.Reserve(writer, rootPid, log);
            phases.End("reserve");
        }
        // The plan consults the kernel's features (PAGEMAP_SCAN, pidfd_getfd): probe them now, not while frozen.
        _ = KernelFeatures.Current;
        try
        {
            cancel.ThrowIfCancellationRequested();
            freezeClock.Start();
            var order = FreezeTree(rootPid, frozen, zombies, seized, cancel);
            TreeWalk.RefuseSharing([.. frozen.Select(p => p.Pid)]);
            phases.End("freeze");
            log.Info($"froze {frozen.Count} process(es), {seized.Count} thread(s)" + (zombies.Count > 0 ? $", {zombies.Count} zombie(s)" : ""));

            var byPid = frozen.ToDictionary(p => p.Pid);
            var session = new DumpSession(options) { TreePids = byPid.Keys, ZombiePids = zombies.Keys };
            var plan = new List<(int Pid, List<IDumpedResource> Resources, int Threads)>();
            foreach (int pid in order)
            {
                if (zombies.TryGetValue(pid, out var zombie)) plan.Add((pid, [new DumpedItems([zombie])], 0));
                else plan.Add((pid, Plan(byPid[pid], session, cancel), byPid[pid].Threads.Count));
            }
            phases.End("plan");

            if (snapshot && TakeSnapshots(plan, byPid, snapshots))
            {
                Thaw(seized);
                thawed = true;
                freezeClock.Stop();
                phases.End("snapshot");
            }

            long estimate = frozen.Sum(p => p.Mappings.Sum(m => (long)m.Length));
            var (bytes, pageBytes) = Write(writer, plan, estimate, session, freezeClock);
            phases.End("write");
            ReleaseSnapshots(snapshots, thawed);

            // Before the kill: once the tree is gone, `| cat` sees the end of its input and goes too.
            foreach (string warning in Pipes.HeldOutside(session.AnonymousPipes, order.ToHashSet())) log.Warn(warning);
            if (options.LeaveRunning)
            {
                if (!thawed) Thaw(seized);
                thawed = true;
            }
            else
            {
                killed = true;
                KillTree(rootPid, order, byPid);
            }
            freezeClock.Stop();
            phases.End(options.LeaveRunning ? snapshot ? "release" : "thaw" : "kill");
            return new CheckpointReport(frozen.Count + zombies.Count, seized.Count, bytes, pageBytes, freezeClock.Elapsed, phases.Summary());
        }
        catch when (!killed)
        {
            // Whatever went wrong, the target must run on as it was: give every thread back.
            ReleaseSnapshots(snapshots, thawed);
            if (!thawed) Thaw(seized);
            throw;
        }
        finally
        {
            foreach (var p in frozen) p.Memory.Dispose();
        }
    }

    /// <summary>
    /// Forks every frozen process (<see cref="ForkSnapshot"/>) so the tree can run on while its
    /// pages are written. All or none: if one process cannot be forked, the snapshots taken are
    /// released and the whole image is written while the tree stays frozen. Only when every
    /// process has its copy are the page reads pointed at the copies.
    /// </summary>
    private bool TakeSnapshots(List<(int Pid, List<IDumpedResource> Resources, int Threads)> plan, Dictionary<int, FrozenProcess> byPid,
        List<ForkSnapshot> snapshots)
    {
        var attach = new List<(ForkSnapshot Snapshot, Memory.DumpedMemory Pages)>();
        foreach (var (pid, resources, _) in plan)
        {
            if (!byPid.TryGetValue(pid, out var process)) continue; // a zombie has no memory
            var pages = resources.OfType<Memory.DumpedMemory>().Single();
            if (ForkSnapshot.TryTake(process, pages, log) is not { } taken)
            {
                ReleaseSnapshots(snapshots, parentsRunning: false);
                log.Info("the image is written while the tree stays frozen");
                return false;
            }
            snapshots.Add(taken);
            attach.Add((taken, pages));
        }
        foreach (var (snapshot, pages) in attach) snapshot.Attach(pages, log);
        return true;
    }

    private void ReleaseSnapshots(List<ForkSnapshot> snapshots, bool parentsRunning)
    {
        foreach (var snapshot in snapshots) snapshot.Release(parentFrozen: !parentsRunning, log);
        snapshots.Clear();
    }

    /// <summary>
    /// Kills the tree, children before parents, every traced thread waited for (a traced thread
    /// stays a zombie until its tracer has seen it, and its group leader with it). Each killed
    /// descendant, and each zombie of the image, is then reaped by an injected wait4 in its
    /// still frozen parent: left to init, its pid would stay taken for a second or more here,
    /// and a restore right after the checkpoint needs the pids free. The root is reaped by its
    /// own parent.
    /// </summary>
    private void KillTree(int rootPid, List<int> order, Dictionary<int, FrozenProcess> byPid)
    {
        var parents = order.ToDictionary(pid => pid, pid => TreeWalk.TryStat(pid)?.ParentPid ?? 0);
        foreach (int pid in Enumerable.Reverse(order))
        {
            if (byPid.TryGetValue(pid, out var process)) tracer.KillGroup(pid, [.. process.Threads.Select(t => t.Tid)]);
            if (pid == rootPid || !byPid.TryGetValue(parents[pid], out var parent)) continue;
            long reaped = parent.Syscalls.Reap(pid);
            if (reaped != pid) log.Info($"pid {pid} was not reaped by its parent {parent.Pid} (wait4: {reaped})");
        }
        WaitUntilGone(order.Where(pid => pid != rootPid));
    }

    private static void CheckRoot(int rootPid)
    {
        if (rootPid == Native.GetPid()) throw new InvalidOperationException("cryo cannot checkpoint itself");
        if (!Directory.Exists($"/proc/{rootPid}")) throw new InvalidOperationException($"no process with pid {rootPid}");
        var stat = ProcStat.Read(rootPid);
        if (stat.State is 'Z' or 'X') throw new InvalidOperationException($"pid {rootPid} is a zombie; there is nothing to checkpoint");
    }

    /// <summary>
    /// Freezes the whole tree: discovers the descendants (/proc/PID/task/TID/children,
    /// recursively), seizes and interrupts every thread of every live one, and repeats until a
    /// discovery finds nothing new, because a process not yet frozen may fork (or a thread
    /// clone) meanwhile. Once every live process is stopped nothing can change the tree any
    /// more: the last discovery is the tree that is saved (zombies included: their parents
    /// are stopped and cannot reap them). Returns the pids in depth-first pre-order.
    /// </summary>
    private List<int> FreezeTree(int rootPid, List<FrozenProcess> frozen, Dictionary<int, ProcessInfo> zombies, List<int> seized,
        CancellationToken cancel)
    {
        var done = new HashSet<int>();
        for (int round = 0; ; round++)
        {
            cancel.ThrowIfCancellationRequested();
            if (round > 1000) throw new InvalidOperationException($"the tree of pid {rootPid} kept changing while it was being frozen");
            var order = TreeWalk.PreOrder(rootPid);
            bool changed = false;
            foreach (int pid in order)
            {
                if (done.Contains(pid)) continue;
                var stat = TreeWalk.TryStat(pid);
                if (stat is null) { changed = true; continue; } // reaped meanwhile: the next walk no longer lists it
                if (stat.State is 'Z' or 'X')
                {
                    if (TreeWalk.TaskCount(pid) > 1)
                        throw new UnsupportedResourceException(pid, "exited main thread",
                            "the main thread has exited while other threads run on; such a process cannot be restored yet");
                    continue; // a zombie: recorded once the tree is stable
                }
                changed = true;
                if (pid != rootPid && stat.ExitSignal != Cryo.Interop.Signals.SIGCHLD)
                    throw new UnsupportedResourceException(pid, $"exit signal {stat.ExitSignal}",
                        "only children that report their end with SIGCHLD (fork, or clone with SIGCHLD) are supported");
                try
                {
                    frozen.Add(Freeze(pid, seized));
                    done.Add(pid);
                }
                catch (Exception e) when ((e is SysCallException or TraceeGoneException or ProcFormatException) && !ProcessIsAlive(pid))
                {
                    // It ended between the walk and the seize; the next walk sees it as a zombie or not at all.
                }
            }
            if (changed) continue;
            // Stable: every live process of the walk is frozen. Record the zombies now.
            foreach (int pid in order)
                if (!done.Contains(pid)) zombies[pid] = ProcessIdentity.DumpZombie(pid);
            return order;
        }
    }

    private static bool ProcessIsAlive(int pid) => TreeWalk.TryStat(pid) is { State: not ('Z' or 'X') };

    /// <summary>
    /// After killing, the pids of the tree are free only once their parents reaped them: the
    /// root is reaped by its parent, the others by init (slowly here). A restore right after
    /// the checkpoint needs them free, so wait (bounded) until they are.
    /// </summary>
    private void WaitUntilGone(IEnumerable<int> pids)
    {
        var clock = Stopwatch.StartNew();
        foreach (int pid in pids)
        {
            var pause = TimeSpan.FromMilliseconds(1);
            while (TreeWalk.TryStat(pid) is { State: 'Z' or 'X' })
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(10))
                {
                    log.Warn($"pid {pid} is still a zombie (its new parent has not reaped it yet)");
                    return;
                }
                Thread.Sleep(pause);
                if (pause < TimeSpan.FromMilliseconds(20)) pause *= 2;
            }
        }
    }

    /// <summary>Seizes and stops every thread of <paramref name="pid"/>, looping until no new thread appears.</summary>
    private FrozenProcess Freeze(int pid, List<int> seized)
    {
        var threads = new List<FrozenThread>();
        var gone = new HashSet<int>();
        int jobControlStop = 0;
        while (true)
        {
            var fresh = ProcTasks.Read(pid).Where(tid => !seized.Contains(tid) && !gone.Contains(tid)).ToList();
            if (fresh.Count == 0) break;
            var attached = new List<int>();
            foreach (int tid in fresh)
            {
                try { tracer.Seize(tid, PtraceOptions.TraceSysGood); }
                catch (SysCallException e) when (tid != pid && e.Errno == ErrnoNames.ESRCH)
                {
                    gone.Add(tid); // a thread that ended meanwhile
                    continue;
                }
                seized.Add(tid);
                attached.Add(tid);
            }
            foreach (int tid in attached)
            {
                try
                {
                    // A process stopped by job control reports its group-stop instead of the interrupt.
                    var stop = tracer.Interrupt(tid);
                    if (tid == pid && stop.IsGroupStop) jobControlStop = stop.StopSignal;
                }
                catch (TraceeGoneException) when (tid != pid)
                {
                    seized.Remove(tid);
                    gone.Add(tid);
                    continue;
                }
                var regs = tracer.GetRegs(tid);
                // Before any call is injected into it: its seccomp filters decide which calls cryo may make there.
                var seccomp = SeccompChain.Read(tracer, pid, tid);
                if (seccomp is { Strict: true })
                    throw new UnsupportedResourceException(pid, $"tid {tid}",
                        "it is in seccomp strict mode, where only read, write and exit are allowed: cryo reads a thread's state with calls made in it " +
                        "(sigaltstack, prctl), which strict mode would answer by killing the thread");
                if (seccomp is not null) tracer.GuardSyscalls(tid, seccomp);
                threads.Add(new FrozenThread(tid, regs, InterruptedSyscall.Normalize(regs), seccomp));
            }
        }
        threads.Sort((a, b) => a.Tid == pid ? -1 : b.Tid == pid ? 1 : a.Tid.CompareTo(b.Tid));
        var memory = new RemoteMemory(pid);
        try
        {
            var mappings = ProcMaps.Read(pid);
            var syscalls = new RemoteSyscall(tracer, pid, SyscallSite.FindInVdso(memory, mappings));
            return new FrozenProcess(pid, tracer, memory, mappings, threads, syscalls, jobControlStop);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>Every resource kind reads its state; a refusal here stops the checkpoint before anything is written.</summary>
    private List<IDumpedResource> Plan(FrozenProcess process, DumpSession session, CancellationToken cancel)
    {
        var resources = new List<IDumpedResource>();
        foreach (var kind in ResourceKinds.DumpOrder)
        {
            cancel.ThrowIfCancellationRequested();
            resources.Add(tracer.Run(() => kind.Dump(process, session)));
        }
        return resources;
    }

    private static CheckpointWriter OpenOutput(string output, CancellationToken cancel)
    {
        var header = CheckpointHeader.Create(Native.KernelRelease(), $"cryo {typeof(Checkpointer).Assembly.GetName().Version}",
            (uint)Environment.SystemPageSize);
        return output == "-"
            ? new CheckpointWriter(new CancellableStream(Console.OpenStandardOutput(), cancel), header)
            : CheckpointWriter.CreateFile(output, header, file => new CancellableStream(file, cancel));
    }

    private (long Bytes, long PageBytes) Write(CheckpointWriter writer, List<(int Pid, List<IDumpedResource> Resources, int Threads)> plan,
        long estimate, DumpSession session, Stopwatch freezeClock)
    {
        using (new ProgressBar("checkpoint", estimate, () => writer.PageBytesWritten))
        {
            foreach (var (_, resources, _) in plan)
            {
                writer.BeginSection(ItemKinds.Process);
                foreach (var resource in resources) resource.WriteTo(writer);
                writer.EndSection(ItemKinds.Process);
            }
            ResourceKinds.Find<Pipes>().WriteFifoSection(writer, session);
        }
        int threads = plan.Sum(p => p.Threads);
        writer.Write(new CheckpointStats((ulong)freezeClock.Elapsed.Ticks * 100, (ulong)(writer.PageBytesWritten / Environment.SystemPageSize),
            (uint)plan.Count, (uint)threads));
        writer.Complete();
        return (writer.BytesWritten, writer.PageBytesWritten);
    }

    private void Thaw(List<int> seized)
    {
        foreach (int tid in seized)
        {
            try { tracer.Detach(tid); }
            catch (Exception e) when (e is SysCallException or TraceeGoneException or InvalidOperationException)
            {
                log.Warn($"detaching tid {tid}: {e.Message}");
            }
        }
    }
}
