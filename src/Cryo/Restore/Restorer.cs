using Cryo.Cli;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Resources;
using Cryo.Tracing;

namespace Cryo.Restore;

/// <summary>What a restore did.</summary>
internal sealed record RestoreReport(int RootPid, int Processes, long Bytes, string Phases);

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
        if (input != "-")
        {
            // Streaming input cannot be read twice; a file can, and a corrupt one must be
            // rejected before any process exists.
            using var check = CheckpointReader.OpenFile(input);
            CheckCompatible(check.Header);
            check.VerifyToEnd();
            phases.End("verify");
        }
        using var reader = input == "-"
            ? new CheckpointReader(Console.OpenStandardInput())
            : CheckpointReader.OpenFile(input);
        CheckCompatible(reader.Header);
        using var session = new RestoreSession(tracer, reader.Header, options);
        try
        {
            ReadItems(reader, session, cancel);
            phases.End("read+map");
            foreach (var process in session.Processes)
                foreach (var kind in ResourceKinds.FinishOrder)
                {
                    cancel.ThrowIfCancellationRequested();
                    tracer.Run(() => kind.Finish(process, session));
                }
            phases.End("finish");
            if (session.Processes.Count == 0) throw new InvalidOperationException($"{input} holds no process");
            foreach (var process in session.Processes) tracer.Detach(process.Pid);
            phases.End("release");
            return new RestoreReport(session.Processes[0].Pid, session.Processes.Count, reader.BytesRead, phases.Summary());
        }
        catch
        {
            KillAll(session);
            throw;
        }
    }

    private void ReadItems(CheckpointReader reader, RestoreSession session, CancellationToken cancel)
    {
        RestoringProcess? current = null;
        bool awaitingInfo = false;
        while (reader.GetNextItem() is { } item)
        {
            cancel.ThrowIfCancellationRequested();
            switch (item)
            {
                case SectionBegin { Section: var s } when s == ItemKinds.Process:
                    awaitingInfo = true;
                    break;
                case SectionEnd { Section: var s } when s == ItemKinds.Process:
                    current = null;
                    break;
                case ProcessInfo info when awaitingInfo:
                    log.Info($"creating pid {info.Pid} ({ItemFieldFormatter.EscapeBytes(info.Comm)})");
                    current = ProcessBirth.Create(info, session);
                    session.Processes.Add(current);
                    awaitingInfo = false;
                    Dispatch(current, item, session, reader);
                    break;
                case CheckpointStats stats:
                    log.Info($"the checkpoint kept the process frozen for {stats.FrozenNanoseconds / 1e6:F1} ms");
                    break;
                case SectionBegin or SectionEnd:
                    if (item is SectionEnd { Section: var t } && t == ItemKinds.Thread && current is not null) current.CurrentThread = null;
                    break;
                default:
                    if (awaitingInfo)
                        throw new CheckpointFormatException(reader.ItemOffset, $"item #{reader.ItemIndex} '{item.Tag}'", "a PROC section must begin with PINF");
                    Dispatch(current, item, session, reader);
                    break;
            }
        }
    }

    private void Dispatch(RestoringProcess? process, CheckpointItem item, RestoreSession session, CheckpointReader reader)
    {
        var kind = ResourceKinds.DumpOrder.FirstOrDefault(k => k.Handles(item))
            ?? throw new InvalidOperationException($"item #{reader.ItemIndex} '{item.Tag}' at byte {reader.ItemOffset}: no resource kind restores it");
        try
        {
            tracer.Run(() => kind.Restore(process, item, session));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new RestoreException(process?.Pid, kind.Name, $"item #{reader.ItemIndex} '{item.Tag}' at byte {reader.ItemOffset}", e);
        }
    }

    private static void CheckCompatible(CheckpointHeader header)
    {
        if (header.PageSize != Environment.SystemPageSize)
            throw new InvalidOperationException($"the image was taken with {header.PageSize}-byte pages; this machine uses {Environment.SystemPageSize}");
    }

    /// <summary>Kills and reaps every process this restore created, newest first.</summary>
    private void KillAll(RestoreSession session)
    {
        foreach (int pid in Enumerable.Reverse(session.CreatedPids))
        {
            try { tracer.Kill(pid); }
            catch (Exception e) when (e is SysCallException or TraceeGoneException or InvalidOperationException)
            {
                log.Warn($"cleaning up pid {pid}: {e.Message}");
            }
        }
    }
}

/// <summary>A restore step failed: names the process, the resource kind and the item.</summary>
internal sealed class RestoreException(int? pid, string kind, string item, Exception inner)
    : Exception($"restoring {(pid is null ? "" : $"pid {pid}: ")}{kind}: {item}: {inner.Message}", inner);
