using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using CliWrap;
using CliWrap.Buffered;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Restore;
using Cryo.Tracing;
using Signals = Cryo.Interop.Signals;

namespace Cryo.Tests.Engine.Support;

/// <summary>The programs of testprogs/ (built with make on first use), and a directory for their files.</summary>
public sealed class TestProgs : IDisposable
{
    public TestProgs()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !System.IO.Directory.Exists(Path.Combine(dir, "testprogs"))) dir = Path.GetDirectoryName(dir);
        if (dir is null) throw new InvalidOperationException($"no testprogs directory above {AppContext.BaseDirectory}");
        Root = Path.Combine(dir, "testprogs");
        var make = CliWrap.Cli.Wrap("make").WithArguments(["-C", Root]).WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync().GetAwaiter().GetResult();
        if (make.ExitCode != 0) throw new InvalidOperationException($"make -C {Root} failed:\n{make.StandardError}");
        Directory = Path.Combine(Path.GetTempPath(), $"cryo-memory-tests-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Root { get; }
    public string Directory { get; }
    public string PathOf(string program) => Path.Combine(Root, "bin", program);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>One running test program (protocol of testprogs/README.md). Dispose kills and reaps it unless it was reaped already.</summary>
internal sealed class TestProgram : IDisposable
{
    private bool reaped;

    private TestProgram(string name, int pid, string directory)
    {
        Name = name;
        Pid = pid;
        Directory = directory;
    }

    public string Name { get; }
    public int Pid { get; private set; }
    public string Directory { get; }
    public string PidFile => Path.Combine(Directory, "pid");
    public string OutFile => Path.Combine(Directory, "out");
    public string LogFile => Path.Combine(Directory, "log");

    public static TestProgram Start(TestProgs progs, string name, params string[] options)
    {
        string directory = Path.Combine(progs.Directory, $"{name}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        string path = progs.PathOf(name);
        int pid = PosixSpawn.Spawn(path, [path, $"--pidfile={directory}/pid", $"--outfile={directory}/out", .. options],
            environment: [], outputPath: Path.Combine(directory, "log"), newSession: false);
        var program = new TestProgram(name, pid, directory);
        try
        {
            Wait.Until(() => File.Exists(program.PidFile) || program.TryReap(out _), TimeSpan.FromSeconds(60), $"pidfile of {name} pid {pid}", program.Describe);
            if (program.reaped) throw new InvalidOperationException($"{name} exited before it was ready; {program.Describe()}");
            return program;
        }
        catch
        {
            program.Dispose();
            throw;
        }
    }

    /// <summary>The program was killed (and reaped) by someone else, e.g. a tracer's Kill.</summary>
    public void MarkReaped() => reaped = true;

    /// <summary>After a restore the process is again our unreaped child (CLONE_PARENT): manage it again.</summary>
    public void MarkAlive() => reaped = false;

    /// <summary>SIGTERM, wait for the exit, return (exit code, outfile text).</summary>
    public (int ExitCode, string Output) Terminate(TimeSpan timeout)
    {
        if (Native.Kill(Pid, Signals.SIGTERM) != 0) throw new InvalidOperationException($"kill(SIGTERM) of pid {Pid} failed");
        int exitCode = -1;
        Wait.Until(() => TryReap(out exitCode), timeout, $"exit of {Name} pid {Pid} after SIGTERM", Describe);
        return (exitCode, File.Exists(OutFile) ? File.ReadAllText(OutFile).Trim() : "(no outfile)");
    }

    public string Describe()
    {
        string Read(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "(none)";
        string state = reaped ? "reaped" : File.Exists($"/proc/{Pid}/stat") ? File.ReadAllText($"/proc/{Pid}/stat") : "gone";
        return $"{Name} pid {Pid}: stat [{state}] log [{Read(LogFile)}] out [{Read(OutFile)}]";
    }

    private bool TryReap(out int exitCode) => Reaping.TryReap(Pid, ref reaped, out exitCode);

    public void Dispose() => Harness.KillAndReap(Pid, ref reaped);
}

/// <summary>Freezing, dumping and restoring with the engine's pieces, without the lead's orchestration.</summary>
internal static class Harness
{
    /// <summary>Kills and reaps <paramref name="pid"/> if (and only if) it is still our unreaped child.</summary>
    public static void KillAndReap(int pid, ref bool reaped)
    {
        if (reaped) return;
        reaped = true;
        int result = Native.WaitPid(pid, out int status, Native.WNOHANG | Native.WALL);
        if (result < 0 || (result == pid && new WaitStatus(pid, status).Gone)) return;
        Native.Kill(pid, Signals.SIGKILL);
        while (Native.WaitPid(pid, out status, Native.WALL) == pid && !new WaitStatus(pid, status).Gone) { }
    }

    /// <summary>Kills and reaps every pid a restore created that is still our child.</summary>
    public static void KillCreated(RestoreSession session)
    {
        foreach (int pid in session.CreatedPids.ToArray())
        {
            bool reaped = false;
            KillAndReap(pid, ref reaped);
        }
    }

    /// <summary>Seizes and interrupts a single-threaded process and describes it the way the checkpointer does.</summary>
    public static FrozenProcess Freeze(Tracer tracer, int pid)
    {
        tracer.Seize(pid, PtraceOptions.TraceSysGood);
        tracer.Interrupt(pid);
        var regs = tracer.GetRegs(pid);
        var maps = ProcMaps.Read(pid);
        var memory = new RemoteMemory(pid);
        var syscalls = new RemoteSyscall(tracer, pid, SyscallSite.FindInVdso(memory, maps));
        return new FrozenProcess(pid, tracer, memory, maps, [new FrozenThread(pid, regs, InterruptedSyscall.Normalize(regs))], syscalls);
    }

    public static ProcessInfo InfoOf(int pid, string exe) => new(
        pid, Environment.ProcessId, pid, pid, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1,
        Encoding.UTF8.GetBytes(Path.GetFileName(exe)), Encoding.UTF8.GetBytes(exe), Encoding.UTF8.GetBytes("/"), Encoding.UTF8.GetBytes("/"));

    public static CheckpointHeader Header() => CheckpointHeader.Create(Native.KernelRelease(), "cryo engine tests", (uint)Environment.SystemPageSize);

    /// <summary>Writes one PROC section: the PINF, then each dumped resource in order.</summary>
    public static void WriteImage(Stream stream, ProcessInfo info, params IDumpedResource[] resources)
    {
        using var writer = new CheckpointWriter(stream, Header(), leaveOpen: true);
        writer.BeginSection(ItemKinds.Process);
        writer.Write(info);
        foreach (var resource in resources) resource.WriteTo(writer);
        writer.EndSection(ItemKinds.Process);
        writer.Complete();
    }

    /// <summary>
    /// Reads an image and restores it with the given kinds (the born process gets the PINF's pid),
    /// then runs Finish of each kind in order. Returns the process, still stopped under the tracer.
    /// </summary>
    public static RestoringProcess Restore(Stream stream, RestoreSession session, params IResourceKind[] kinds)
    {
        using var reader = new CheckpointReader(stream, leaveOpen: true);
        RestoringProcess? process = null;
        while (reader.GetNextItem() is { } item)
        {
            if (item is ProcessInfo info)
            {
                process = ProcessBirth.Create(info, session);
                continue;
            }
            if (item is SectionBegin or SectionEnd) continue;
            var kind = kinds.FirstOrDefault(k => k.Handles(item));
            kind?.Restore(process, item, session);
        }
        if (process is null) throw new InvalidOperationException("the image has no PINF");
        foreach (var kind in kinds) kind.Finish(process, session);
        return process;
    }

    /// <summary>A pid that is free now, well above the last one handed out (so nothing takes it meanwhile).</summary>
    public static int FreePid()
    {
        int max = int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim(), CultureInfo.InvariantCulture);
        int last = int.Parse(File.ReadAllText("/proc/sys/kernel/ns_last_pid").Trim(), CultureInfo.InvariantCulture);
        int start = last + 500 < max - 1000 ? last + 500 : 1000;
        for (int pid = start + Random.Shared.Next(0, 300); pid < max; pid++)
            if (!System.IO.Directory.Exists($"/proc/{pid}")) return pid;
        throw new InvalidOperationException($"no free pid between {start} and {max}");
    }

    public static ImmutableArray<MemoryMapping> Maps(int pid) => ProcMaps.Read(pid);
}
