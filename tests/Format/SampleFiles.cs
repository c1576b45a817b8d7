using System.Text;
using Cryo.Format;

namespace Cryo.Tests.Format;

/// <summary>
/// Builds the hand-made sample files in tests/Format/samples: every item kind with plausible
/// values, written deterministically so that the committed files can be checked against this code.
/// </summary>
public static class SampleFiles
{
    public static readonly IReadOnlyDictionary<string, Action<CheckpointWriter>> All = new Dictionary<string, Action<CheckpointWriter>>
    {
        ["minimal"] = _ => { },
        ["process"] = WriteSingleProcess,
        ["tree"] = WriteTree,
        ["extensions"] = WriteExtensions,
    };

    public static CheckpointHeader Header() =>
        CheckpointHeader.Create("6.18.0-sample", "cryo sample generator", 4096, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public static byte[] Build(string name)
    {
        using var stream = new MemoryStream();
        using (var writer = new CheckpointWriter(stream, Header(), leaveOpen: true))
        {
            All[name](writer);
            writer.Complete();
        }
        return stream.ToArray();
    }

    public static string SamplesDirectory => Path.Combine(GoldenFile.RepoRoot(), "tests", "Format", "samples");

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)(i * 31 + seed);
        return bytes;
    }

    private static void WriteProcess(CheckpointWriter w, int pid, int ppid, int sid, string comm, ulong pipeId, bool writeEnd)
    {
        w.BeginSection(ItemKinds.Process);
        w.Write(new ProcessInfo(pid, ppid, sid, sid, ProcessState.Alive, 0, 0, 0x22, 1, 0, 0, 0, 1,
            B(comm), B($"/usr/libexec/cryo-tests/{comm}"), B("/srv/job"), B("/")));
        w.Write(new Credentials(1000, 1000, 1000, 1000, 100, 100, 100, 100, 0, 0, 0, 0x1ffffffffff, 0, 0, [100, 27]));
        w.Write(new ResourceLimits([new(3, 8 << 20, ResourceLimits.Infinity), new(7, 1024, 524288)]));
        w.Write(new SignalHandlers([new SignalAction(15, 0x401136, 0x04000000, 0x7f0000001000, 1UL << 14), new SignalAction(13, 1, 0, 0, 0)]));
        w.Write(new PendingSignals(SignalQueue.Process, [new QueuedSignal(10, 0, 0, Pattern(QueuedSignal.DataSize, 3))]));
        w.Write(new MemoryLayout(0x400000, 0x401000, 0x403000, 0x404000, 0x1000000, 0x1021000, 0x7ffd00000000,
            0x7ffd00001000, 0x7ffd00001020, 0x7ffd00001020, 0x7ffd00001100, [new AuxEntry(6, 4096), new AuxEntry(25, 0x7ffd00000f00)]));
        w.Write(new MemoryArea(0x400000, 0x401000, 0, MemoryArea.ProtRead | MemoryArea.ProtExec, MemoryArea.MapPrivate,
            MemoryAreaKind.FilePrivate, 0x801, 1311, B($"/usr/libexec/cryo-tests/{comm}"), []));
        w.Write(new MemoryArea(0x1000000, 0x1021000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapPrivate | MemoryArea.MapAnonymous,
            MemoryAreaKind.Heap, 0, 0, B("[heap]"), [new PageRun(0, 2), new PageRun(5, 1)]));
        w.WritePages(0x1000000, Pattern(2 * 4096, 1));
        w.WritePages(0x1005000, Pattern(4096, 2));
        w.Write(new MemoryArea(0x7ffd00000000, 0x7ffd00021000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite,
            MemoryArea.MapPrivate | MemoryArea.MapAnonymous | MemoryArea.MapGrowsDown, MemoryAreaKind.Stack, 0, 0, B("[stack]"), [new PageRun(0x20, 1)]));
        w.WritePages(0x7ffd00020000, Pattern(4096, 4));
        w.Write(new MemoryArea(0x7ffd00100000, 0x7ffd00104000, 0, MemoryArea.ProtRead, MemoryArea.MapPrivate, MemoryAreaKind.Vvar, 0, 0, B("[vvar]"), []));
        w.Write(new MemoryArea(0x7ffd00104000, 0x7ffd00106000, 0, MemoryArea.ProtRead | MemoryArea.ProtExec, MemoryArea.MapPrivate, MemoryAreaKind.Vdso, 0, 0, B("[vdso]"), []));
        w.Write(new FileDescriptor(0, FileKind.CharDevice, 0, 0, 0, 0x2000 | 0x1b6, 5, 4, 0x103, 1, 0, B("/dev/null")));
        w.Write(new FileDescriptor(1, FileKind.Regular, 0, 0x401, 1234, 0x8000 | 0x1a4, 0x801, 2222, 0, 2, 0, B("/srv/job/out.log")));
        w.Write(new FileDescriptor(writeEnd ? 4 : 3, FileKind.Pipe, FileDescriptor.CloseOnExec, writeEnd ? 1u : 0u, 0, 0x1000 | 0x180, 0xe, pipeId, 0, writeEnd ? 4u : 3u, pipeId,
            B($"pipe:[{pipeId}]")));
        w.BeginSection(ItemKinds.Thread);
        w.Write(new ThreadInfo(pid, 1UL << 14, 0, 2, 0, 0x7f0000002a10, 0x7f0000002a20, 24, 0x7f0000002fe0, 32, 0x53053053,
            SyscallRestart.Reexecute, B(comm)));
        var regs = new ulong[Registers.Count];
        for (int i = 0; i < regs.Length; i++) regs[i] = 0x1000UL * (ulong)i + (ulong)pid;
        w.Write(new Registers(regs));
        w.Write(new ExtendedState(0x7, Pattern(832, 9)));
        w.Write(new PendingSignals(SignalQueue.Thread, []));
        w.EndSection(ItemKinds.Thread);
        w.EndSection(ItemKinds.Process);
    }

    private static void WriteSingleProcess(CheckpointWriter w)
    {
        WriteProcess(w, 4242, 1, 4242, "pipe", 77001, writeEnd: false);
        w.BeginSection(ItemKinds.Fifo);
        w.Write(new PipeInfo(77001, PipeKind.Anonymous, false, 65536, 5000));
        w.WritePipeData(77001, Pattern(5000, 7));
        w.Write(new PipeInfo(77002, PipeKind.Named, true, 4096 * 16, 700));
        w.WritePipeData(77002, Pattern(200, 1));
        w.WritePipeData(77002, Pattern(500, 2));
        w.Write(new PipeInfo(77003, PipeKind.Anonymous, false, 4096, 0));
        w.EndSection(ItemKinds.Fifo);
        w.Write(new CheckpointStats(1_250_000, 4, 1, 1));
    }

    private static void WriteTree(CheckpointWriter w)
    {
        WriteProcess(w, 500, 1, 500, "parent", 88001, writeEnd: false);
        WriteProcess(w, 501, 500, 500, "child", 88001, writeEnd: true);
        w.BeginSection(ItemKinds.Process);
        w.Write(new ProcessInfo(502, 500, 500, 500, ProcessState.Zombie, 3 << 8, 0, 0, 0, 0, 0, 0, 0, B("zombie"), [], [], []));
        w.EndSection(ItemKinds.Process);
        w.BeginSection(ItemKinds.Fifo);
        w.Write(new PipeInfo(88001, PipeKind.Anonymous, false, 1 << 20, 1 << 20));
        w.WritePipeData(88001, Pattern(1 << 20, 5));
        w.EndSection(ItemKinds.Fifo);
    }

    /// <summary>Items from a newer writer: optional ones a v1 reader skips, inside and outside sections.</summary>
    private static void WriteExtensions(CheckpointWriter w)
    {
        w.WriteOpaqueItem(ItemTag.Parse("NOTE"), critical: false, B("an optional note from a future writer"));
        WriteProcess(w, 600, 1, 600, "ext", 99001, writeEnd: false);
        w.BeginSection(ItemKinds.Fifo);
        w.Write(new PipeInfo(99001, PipeKind.Anonymous, false, 65536, 0));
        w.EndSection(ItemKinds.Fifo);
        w.WriteOpaqueItem(ItemTag.Parse("XTRA"), critical: false, []);
    }
}
