using System.Globalization;
using System.Runtime.InteropServices;
using CliWrap;
using CliWrap.Buffered;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Cryo.Restore;
using Cryo.Tracing;

namespace Cryo.Tests.Engine.Support;

/// <summary>Builds testprogs/ once (make) and compiles the resource tests' own C stub.</summary>
public sealed class ResourcePrograms : IDisposable
{
    public ResourcePrograms()
    {
        string repo = FindRepo();
        TestProgs = Path.Combine(repo, "testprogs", "bin");
        Directory = Path.Combine(Path.GetTempPath(), $"cryo-resource-tests-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            Run("make", ["-C", Path.Combine(repo, "testprogs")]);
            string source = Path.Combine(Directory, "stub.c");
            File.WriteAllText(source, StubSource);
            Stub = Path.Combine(Directory, "stub");
            Run("gcc", ["-O2", "-Wall", "-Werror", "-o", Stub, source]);
        }
        catch
        {
            Dispose(); // xunit does not dispose a fixture whose constructor threw
            throw;
        }
    }

    public string TestProgs { get; }
    public string Directory { get; }
    public string Stub { get; } = "";

    public string Program(string name) => Path.Combine(TestProgs, name);

    private static void Run(string tool, string[] arguments)
    {
        var result = CliWrap.Cli.Wrap(tool).WithArguments(arguments).WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync().GetAwaiter().GetResult();
        if (result.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed ({result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}");
    }

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "testprogs", "Makefile"))) return dir.FullName;
        throw new InvalidOperationException("testprogs/ not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* files of a still-running program; the OS cleans /tmp */ }
    }

    /// <summary>
    /// A stub that sets up signal and process state, writes its pid file and sleeps in pause().
    /// "plain": nothing. "state": SIGUSR1 handler (SA_SIGINFO|SA_RESTART, mask SIGUSR2), SIGUSR2
    /// ignored, SIGUSR1 and SIGRTMIN+1 blocked and pending (a kill and a sigqueue with value 42 to
    /// the process, a tgkill to the thread), RLIMIT_NOFILE 512/4096, RLIMIT_CORE 0/0, umask 027,
    /// comm "cryo-state", cwd /tmp.
    /// </summary>
    public const string StubSource = """
        #define _GNU_SOURCE
        #include <signal.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/prctl.h>
        #include <sys/resource.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <unistd.h>

        static void handler(int sig, siginfo_t *info, void *context) { (void)sig; (void)info; (void)context; }

        int main(int argc, char **argv) {
            if (argc < 3) return 2;
            if (strcmp(argv[2], "state") == 0) {
                struct sigaction sa;
                memset(&sa, 0, sizeof sa);
                sa.sa_sigaction = handler;
                sa.sa_flags = SA_SIGINFO | SA_RESTART;
                sigaddset(&sa.sa_mask, SIGUSR2);
                if (sigaction(SIGUSR1, &sa, NULL) != 0) return 3;
                signal(SIGUSR2, SIG_IGN);
                sigset_t block;
                sigemptyset(&block);
                sigaddset(&block, SIGUSR1);
                sigaddset(&block, SIGRTMIN + 1);
                sigprocmask(SIG_BLOCK, &block, NULL);
                kill(getpid(), SIGUSR1);
                union sigval value = { .sival_int = 42 };
                sigqueue(getpid(), SIGRTMIN + 1, value);
                syscall(SYS_tgkill, getpid(), gettid(), SIGRTMIN + 1);
                struct rlimit nofile = { 512, 4096 }, core = { 0, 0 };
                setrlimit(RLIMIT_NOFILE, &nofile);
                setrlimit(RLIMIT_CORE, &core);
                umask(027);
                prctl(PR_SET_NAME, "cryo-state");
                if (chdir("/tmp") != 0) return 4;
            }
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
            FILE *f = fopen(tmp, "w");
            if (!f) return 5;
            fprintf(f, "%d\n", getpid());
            fclose(f);
            rename(tmp, argv[1]);
            for (;;) pause();
        }
        """;
}

/// <summary>
/// A program started with posix_spawn, seized and stopped, with what the resource kinds need:
/// a <see cref="FrozenProcess"/> for dumps and a <see cref="RestoringProcess"/> (with a scratch
/// page mapped by an injected mmap) for restores. Dispose kills and reaps it on every path.
/// </summary>
internal sealed class FrozenRun : IDisposable
{
    private bool reaped, attached;

    private FrozenRun(int pid, string directory)
    {
        Pid = pid;
        Directory = directory;
    }

    public int Pid { get; }
    public string Directory { get; }
    public string OutFile => Path.Combine(Directory, "out");
    public string LogFile => Path.Combine(Directory, "log");
    public Tracer Tracer { get; private set; } = null!;
    public RemoteMemory Memory { get; private set; } = null!;
    public RemoteSyscall Syscalls { get; private set; } = null!;

    /// <summary>Starts a testprogs program (protocol: --pidfile --outfile) and freezes it once its pidfile exists.</summary>
    public static FrozenRun StartProgram(string path, params string[] extra)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"cryo-run-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        return Start(path, [path, $"--pidfile={directory}/pid", $"--outfile={directory}/out", .. extra], directory);
    }

    /// <summary>Starts the resource stub in <paramref name="mode"/>.</summary>
    public static FrozenRun StartStub(ResourcePrograms programs, string mode)
    {
        string directory = Path.Combine(Path.GetTempPath(), $"cryo-run-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        return Start(programs.Stub, [programs.Stub, $"{directory}/pid", mode], directory);
    }

    private static FrozenRun Start(string path, string[] argv, string directory)
    {
        int pid = PosixSpawn.Spawn(path, argv, environment: null, outputPath: Path.Combine(directory, "log"), newSession: false);
        var run = new FrozenRun(pid, directory);
        try
        {
            string pidFile = Path.Combine(directory, "pid");
            Wait.Until(() => File.Exists(pidFile) || run.TryReap(out _), Target.Timeout, $"pidfile of pid {pid}", run.Describe);
            if (run.reaped) throw new InvalidOperationException($"pid {pid} exited before it was ready; {run.Describe()}");
            // Seize it only once it is asleep (pause, sigwaitinfo, write, nanosleep...).
            Wait.Until(() => !File.ReadAllText($"/proc/{pid}/stat").Contains(") R ", StringComparison.Ordinal), Target.Timeout, $"pid {pid} asleep", run.Describe);
            run.Tracer = new Tracer();
            run.Tracer.Seize(pid, PtraceOptions.TraceSysGood | PtraceOptions.ExitKill);
            run.attached = true;
            run.Tracer.Interrupt(pid);
            run.Memory = new RemoteMemory(pid);
            run.Syscalls = new RemoteSyscall(run.Tracer, pid, SyscallSite.FindInVdso(pid, run.Memory));
            return run;
        }
        catch
        {
            run.Dispose();
            throw;
        }
    }

    public FrozenProcess Frozen()
    {
        var regs = Tracer.GetRegs(Pid);
        return new FrozenProcess(Pid, Tracer, Memory, ProcMaps.Read(Pid), [new FrozenThread(Pid, regs, InterruptedSyscall.Normalize(regs))], Syscalls);
    }

    /// <summary>What resource kind <typeparamref name="T"/> dumps of this process, read on the tracer thread.</summary>
    public List<CheckpointItem> Dump<T>(DumpSession session) where T : IResourceKind
    {
        var frozen = Frozen();
        return [.. ((DumpedItems)Tracer.Run(() => ResourceKinds.Find<T>().Dump(frozen, session))).Items];
    }

    /// <summary>Applies <paramref name="items"/> with resource kind <typeparamref name="T"/>, then its Finish, on the tracer thread.</summary>
    public void RestoreAndFinish<T>(RestoringProcess process, IEnumerable<CheckpointItem> items) where T : IResourceKind
    {
        var session = new RestoreSession(Tracer, CheckpointHeader.Create("test", "tests"), new RestoreOptions(false));
        var kind = ResourceKinds.Find<T>();
        Tracer.Run(() =>
        {
            foreach (var item in items) kind.Restore(process, item, session);
            kind.Finish(process, session);
        });
    }

    /// <summary>A RestoringProcess over this (live, stopped) process with a fresh private scratch page.</summary>
    public RestoringProcess Restoring()
    {
        var info = new ProcessInfo(Pid, 1, Pid, Pid, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "x"u8.ToArray(), [], "/"u8.ToArray(), "/"u8.ToArray());
        ulong page = Syscalls.Mmap(0, 4096, RemoteSyscall.PROT_READ | RemoteSyscall.PROT_WRITE, RemoteSyscall.MAP_PRIVATE | RemoteSyscall.MAP_ANONYMOUS);
        return new RestoringProcess(info, Tracer, Memory, Syscalls) { Scratch = new RemoteScratch(Memory, page, 4096) };
    }

    /// <summary>Detaches, sends SIGTERM and returns (exit code, outfile text).</summary>
    public (int ExitCode, string Output) DetachAndTerminate()
    {
        Tracer.Detach(Pid);
        attached = false;
        if (Native.Kill(Pid, Interop.Signals.SIGTERM) != 0) throw new SysCallException("kill(SIGTERM)", Marshal.GetLastPInvokeError(), $"pid {Pid}");
        int code = -1;
        Wait.Until(() => TryReap(out code), Target.Timeout, $"exit of pid {Pid}", Describe);
        return (code, File.Exists(OutFile) ? File.ReadAllText(OutFile).Trim() : "(no outfile)");
    }

    public string Describe()
    {
        string Read(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "(none)";
        return $"pid {Pid}: log [{Read(LogFile)}] out [{Read(OutFile)}]";
    }

    private bool TryReap(out int exitCode) => Reaping.TryReap(Pid, ref reaped, out exitCode);

    public void Dispose()
    {
        Memory?.Dispose();
        if (attached && !reaped)
        {
            try { Tracer.Kill(Pid); reaped = true; }
            catch (Exception e) when (e is SysCallException or TraceeGoneException or InvalidOperationException) { }
        }
        Tracer?.Dispose();
        if (!reaped)
        {
            reaped = true;
            int result = Native.WaitPid(Pid, out int status, Native.WNOHANG | Native.WALL);
            if (!(result < 0 || (result == Pid && new WaitStatus(Pid, status).Gone)))
            {
                Native.Kill(Pid, Interop.Signals.SIGKILL);
                while (Native.WaitPid(Pid, out status, Native.WALL) == Pid && !new WaitStatus(Pid, status).Gone) { }
            }
        }
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }

    public static int ParseInt(string text) => int.Parse(text, CultureInfo.InvariantCulture);
}
