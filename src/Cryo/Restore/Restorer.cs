using System.Runtime.InteropServices;
using Cryo.Cli;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Resources;
using Cryo.Tracing;

namespace Cryo.Restore;

/// <summary>What a restore did.</summary>
/// <param name="Terminal">The terminal the restore ran on, for `cryo restore` to act for the job while it waits (null with --detach or without a terminal); the caller disposes it.</param>
internal sealed record RestoreReport(int RootPid, int Processes, long Bytes, string Phases, TerminalHandover? Terminal);

/// <summary>
/// Recreates the processes of a checkpoint: each PROC section's process is born with its old
/// pid when its PINF arrives, the resource kinds apply the items as they stream in (memory is
/// never held whole), and once the trailer has been verified every process is completed in
/// <see cref="ResourceKinds.FinishOrder"/> and released. A file is verified completely before
/// the first process is created; on any failure every process created so far is killed and
/// reaped, so nothing half-restored is left behind.
/// </summary>
internal sealed class Restorer(Tracer tracer, RestoreOptions options, Log log)
{
    public RestoreReport Run(string input, CancellationToken cancel)
    {
        var phases = new PhaseTimer();
        var stream = input == "-" ? new SpoolingStream(Console.OpenStandardInput()) : null;
        using var reader = stream is not null ? new CheckpointReader(stream) : VerifiedFile(input);
        if (stream is null)
        {
            CheckInheritedLinks(input);
            phases.End("verify");
        }
        else CheckCompatible(reader.Header); // a file's header was checked before its verification
        using var session = new RestoreSession(tracer, reader.Header, options);
        try
        {
            // On the tracer thread as a whole: every item's restore runs there anyway, and one
            // hand-off per item (about 0.1 ms) would add up over thousands of PAGE items.
            using (var items = new ItemSource(reader, stream is null ? new FileInfo(input).Length : 0))
                tracer.Run(() => ReadItems(items, session, stream, cancel));
            // The second pass trusted the first pass's checksums: the file must not have changed.
            reader.CheckUnchanged();
            phases.End("read+map");
            if (session.Processes.Count == 0) throw new InvalidOperationException($"{input} holds no process");
            tracer.Run(() => JoinGroups(session));
            var threads = ResourceKinds.Find<Threads>();
            foreach (var process in session.Processes)
                foreach (var kind in ResourceKinds.FinishOrder)
                {
                    cancel.ThrowIfCancellationRequested();
                    tracer.Run(() => kind.Finish(process, session));
                    // Threads are created right after the memory is in place and before the
                    // credentials change (clone3 with set_tid needs the privileges the image may drop).
                    if (kind is Memory) tracer.Run(() => threads.CreateThreads(process, session));
                }
            phases.End("finish");
            Terminals.BeforeRelease(session);
            // A process that was in a job-control stop gets a SIGSTOP while it is still held: it
            // stops again before it runs an instruction (SIGSTOP, whatever stopped it: neither a
            // handler, a mask nor an orphaned process group can set it aside).
            foreach (var process in session.Processes.Where(p => p.Info.State == ProcessState.Stopped))
                if (Native.Kill(process.Pid, Interop.Signals.SIGSTOP) != 0)
                    throw new SysCallException("kill(SIGSTOP)", Marshal.GetLastPInvokeError(), $"pid {process.Pid}, which was stopped at the checkpoint");
            // Children first, so that no restored parent runs before its children are complete.
            foreach (var process in Enumerable.Reverse(session.Processes))
                foreach (int tid in process.ThreadIds.Reverse<int>()) tracer.Detach(tid);
            phases.End("release");
            return new RestoreReport(session.Processes[0].Pid, session.Processes.Count + session.Zombies.Count, reader.BytesRead, phases.Summary(),
                Terminals.Hand(session));
        }
        catch
        {
            KillAll(session);
            throw;
        }
    }

    /// <summary>
    /// Every --inherit-fd link must name a descriptor of the image: checked in a file before any
    /// process exists (one more pass over its items, only when the option is given). A stream
    /// cannot be read twice; there Files finds a missing link at the finish step.
    /// </summary>
    private void CheckInheritedLinks(string input)
    {
        if (options.InheritedFds is not { Count: > 0 } inherited) return;
        var links = new HashSet<string>();
        using (var reader = CheckpointReader.OpenMapped(input))
            while (reader.GetNextItem() is { } item)
                if (item is FileDescriptor fd) links.Add(System.Text.Encoding.UTF8.GetString(fd.Path));
        foreach (var (link, mine) in inherited)
            if (!links.Contains(link))
                throw new InvalidOperationException($"--inherit-fd {link}={mine}: the image has no descriptor of {link} (no process was created)");
    }

    /// <summary>
    /// A file is read twice: a corrupt one must be rejected before any process exists. It is
    /// mapped, and the first pass checks every checksum on all cores; the second pass, which
    /// applies the items, reads the same mapping again (pages go from the page cache straight
    /// into the processes) without hashing the pages a second time. A file that cannot be
    /// mapped is opened again for the second pass.
    /// </summary>
    private static CheckpointReader VerifiedFile(string input)
    {
        var reader = CheckpointReader.OpenMapped(input);
        try
        {
            CheckCompatible(reader.Header);
            reader.VerifyToEnd();
            if (reader.PayloadsPersist)
            {
                reader.Rewind();
                return reader;
            }
        }
        catch
        {
            reader.Dispose();
            throw;
        }
        reader.Dispose();
        return CheckpointReader.OpenMapped(input);
    }

    private void ReadItems(ItemSource items, RestoreSession session, SpoolingStream? stream, CancellationToken cancel)
    {
        RestoringProcess? current = null;
        bool awaitingInfo = false;
        while (items.Next() is { } next)
        {
            cancel.ThrowIfCancellationRequested();
            var item = next.Item;
            switch (item)
            {
                case SectionBegin { Section: var s } when s == ItemKinds.Process:
                    awaitingInfo = true;
                    break;
                case SectionEnd { Section: var s } when s == ItemKinds.Process:
                    current = null;
                    break;
                case ProcessInfo info when awaitingInfo:
                    awaitingInfo = false;
                    current = BirthWhenFree(info, session, stream);
                    if (current is null) break; // a zombie: nothing else to restore
                    session.Processes.Add(current);
                    Dispatch(current, next, session);
                    break;
                case CheckpointStats stats:
                    log.Info($"the checkpoint kept the process frozen for {stats.FrozenNanoseconds / 1e6:F1} ms");
                    break;
                case SectionBegin or SectionEnd:
                    if (item is SectionEnd { Section: var t } && t == ItemKinds.Thread && current is not null) current.CurrentThread = null;
                    break;
                default:
                    if (awaitingInfo)
                        throw new CheckpointFormatException(next.Offset, $"item #{next.Index} '{item.Tag}'", "a PROC section must begin with PINF");
                    Dispatch(current, next, session);
                    break;
            }
        }
    }

    /// <summary>
    /// <see cref="Birth"/>, for streamed input also when the pid is still taken: on one machine,
    /// `cryo checkpoint PID -o - | cryo restore -` frees the pids only after the last byte is
    /// written, which a full pipe would stop. So the rest of the stream is read into a temporary
    /// file, which lets the checkpoint finish and end the originals, and the pid is waited for.
    /// </summary>
    private RestoringProcess? BirthWhenFree(ProcessInfo info, RestoreSession session, SpoolingStream? stream)
    {
        try
        {
            return Birth(info, session);
        }
        catch (PidTakenException e) when (stream is { Spooled: false })
        {
            log.Info($"{e.Message}; reading the rest of the stream so the checkpoint writing it can finish");
            long spooled = stream.SpoolRest();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Directory.Exists($"/proc/{info.Pid}") && clock.Elapsed < PidReleaseTimeout)
                Thread.Sleep(5); // polling the pid: there is nothing to wait on for another process's end
            log.Info($"spooled {spooled} bytes; pid {info.Pid} {(Directory.Exists($"/proc/{info.Pid}") ? "is still taken" : "is free")} after {clock.ElapsedMilliseconds} ms");
            return Birth(info, session);
        }
    }

    private static readonly TimeSpan PidReleaseTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Creates the process of a PINF: a child of its restored parent when the parent is in the
    /// image (its PROC section came earlier: parents first), else a child of cryo. A zombie is
    /// created and ended at once (null is returned: it has no further items).
    /// </summary>
    private RestoringProcess? Birth(ProcessInfo info, RestoreSession session)
    {
        var parent = session.Processes.FirstOrDefault(p => p.Pid == info.ParentPid);
        if (session.Processes.Any(p => p.Pid == info.Pid) || session.Zombies.Any(z => z.Pid == info.Pid))
            throw new InvalidDataException($"the image holds pid {info.Pid} twice");
        if (info.State == ProcessState.Zombie)
        {
            if (parent is null)
                throw new InvalidDataException($"zombie pid {info.Pid}: its parent {info.ParentPid} is not a live process of the image");
            log.Info($"recreating zombie pid {info.Pid} (wait status {info.ExitStatus}) under pid {parent.Pid}");
            ProcessBirth.CreateZombie(info, parent, session);
            return null;
        }
        if (parent is null)
        {
            if (session.Processes.Count > 0)
                log.Info($"pid {info.Pid}: its parent {info.ParentPid} is not in the image; it becomes a child of cryo");
            log.Info($"creating pid {info.Pid} ({ItemFieldFormatter.EscapeBytes(info.Comm)})");
            return ProcessBirth.Create(info, session);
        }
        log.Info($"creating pid {info.Pid} ({ItemFieldFormatter.EscapeBytes(info.Comm)}) as a child of pid {parent.Pid}");
        return ProcessBirth.CreateChild(info, parent, session);
    }

    /// <summary>Members of a process group whose leader was born after them join it now that every process exists.</summary>
    private void JoinGroups(RestoreSession session)
    {
        foreach (var (pid, group) in session.DeferredGroups)
        {
            // Through the process's syscall site of now: the one it was born with went with the
            // stub's memory when the image's memory took its place.
            long result = session.Processes.First(p => p.Pid == pid).Syscalls.Invoke(MemoryCalls.Setpgid, 0, group);
            if (result < 0)
                session.Warn($"pid {pid} was in process group {group}, which cannot be joined here ({ErrnoNames.Name((int)-result)}): " +
                             "its leader is not in the image");
        }
        session.DeferredGroups.Clear();
    }

    private void Dispatch(RestoringProcess? process, ImageItem next, RestoreSession session)
    {
        var (item, index, offset) = next;
        var kind = ResourceKinds.DumpOrder.FirstOrDefault(k => k.Handles(item))
            ?? throw new InvalidOperationException($"item #{index} '{item.Tag}' at byte {offset}: no resource kind restores it");
        try
        {
            if (process is not null) process.ItemsRead++;
            tracer.Run(() => kind.Restore(process, item, session));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new RestoreException(process?.Pid, kind.Name, $"item #{index} '{item.Tag}' at byte {offset}", e);
        }
    }

    private static void CheckCompatible(CheckpointHeader header)
    {
        if (header.PageSize != Environment.SystemPageSize)
            throw new InvalidOperationException($"the image was taken with {header.PageSize}-byte pages; this machine uses {Environment.SystemPageSize}");
    }

    /// <summary>
    /// Kills and reaps every process this restore created. Parents go first, with cryo a child
    /// subreaper meanwhile: their children (and recreated zombies) are then reparented to cryo,
    /// which reaps them too, so no pid stays taken by a zombie waiting for init.
    /// </summary>
    private void KillAll(RestoreSession session)
    {
        int wasSubreaper = Native.GetChildSubreaper();
        Native.SetChildSubreaper(1);
        try
        {
            foreach (int pid in session.CreatedPids.ToList())
            {
                try
                {
                    var threads = session.Processes.FirstOrDefault(p => p.Pid == pid)?.ThreadIds ?? [pid];
                    tracer.KillGroup(pid, threads);
                }
                catch (Exception e) when (e is SysCallException or TraceeGoneException or InvalidOperationException)
                {
                    log.Warn($"cleaning up pid {pid}: {e.Message}");
                }
            }
            foreach (var (pid, _) in session.Zombies)
                Native.WaitPid(pid, out _, Native.WNOHANG | Native.WALL);
            foreach (var undo in Enumerable.Reverse(session.UndoOnFailure))
            {
                try { undo(); }
                catch (SysCallException e) { log.Warn($"cleaning up: {e.Message}"); }
            }
        }
        finally
        {
            Native.SetChildSubreaper(wasSubreaper);
        }
    }
}

/// <summary>A restore step failed: names the process, the resource kind and the item.</summary>
internal sealed class RestoreException(int? pid, string kind, string item, Exception inner)
    : Exception($"restoring {(pid is null ? "" : $"pid {pid}: ")}{kind}: {item}: {inner.Message}", inner);
