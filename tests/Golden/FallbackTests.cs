using System.Globalization;
using System.Text.RegularExpressions;
using CliWrap;
using CliWrap.Buffered;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// The fallback for kernels (or seccomp policies) without pidfd_getfd, exercised on this kernel,
/// which has it, with CRYO_ASSUME_MISSING=pidfd_getfd for the cryo that restores: every
/// descriptor, file mapping, shared memory object and the exe link is reopened inside the
/// process through /proc/CRYO/fd/N (src/Cryo/Resources/FdTransfer.cs). Checkpoints are taken
/// normally; each program's own check decides.
/// </summary>
public class FallbackTests
{
    private const string Assumption = "CRYO_ASSUME_MISSING is set: treating pidfd_getfd as missing";

    private static readonly Dictionary<string, string?> WithoutPidfdGetfd = new() { ["CRYO_ASSUME_MISSING"] = "pidfd_getfd" };

    public static TheoryData<string, string[]> Passing => new()
    {
        { "sleep", [] },                // regular files, /dev/null, file mappings, the exe link
        { "fifo", ["--seed=1"] },       // named FIFOs: an O_RDWR end, a split read-only/write-only pair, their data
        { "multiproc", ["--seed=1"] },  // a tree of eight processes joined by pipes
        { "threads", [] },
        { "zombie", [] },
        { "setuid", [] },               // credentials dropped after the descriptors are in
    };

    [Theory]
    [MemberData(nameof(Passing))]
    public void Restore_without_pidfd_getfd_passes(string name, string[] args)
    {
        using var dir = new TestDirectory($"fallback-{name}");
        var (_, verdict, cryo) = Cycle(name, args, dir);
        Assert.True(verdict == "PASS", $"{name}: {verdict}\n{cryo.StandardError}\n{dir.Describe(name)}");
        Assert.Equal(0, cryo.ExitCode);
        Assert.Contains(Assumption, cryo.StandardError);
    }

    /// <summary>
    /// Without userfaultfd (a kernel without it, a seccomp policy, or here the knob) large
    /// anonymous areas are filled with process_vm_writev, as before UFFDIO_COPY was used.
    /// </summary>
    [Fact]
    public void Restore_without_userfaultfd_fills_memory_with_process_vm_writev()
    {
        using var dir = new TestDirectory("fallback-uffd");
        var (_, verdict, cryo) = Cycle("memhog", ["--mib=24", "--full-check"], dir, new Dictionary<string, string?> { ["CRYO_ASSUME_MISSING"] = "uffd-copy" });
        Assert.True(verdict == "PASS", $"memhog: {verdict}\n{cryo.StandardError}\n{dir.Describe("memhog")}");
        Assert.Contains("CRYO_ASSUME_MISSING is set: treating uffd-copy as missing", cryo.StandardError);
    }

    /// <summary>
    /// shared: parent and child share one open file description of a file (offset 100; the child
    /// reads 10 bytes, the parent must then see 110). Reopened apart, each has its own offset: cryo
    /// warns naming both pids, the fd and the path, and the parent's check reports exactly that,
    /// and nothing else (shared memory, the pipe's data, /dev/null's flags all survive).
    /// </summary>
    [Fact]
    public void A_description_shared_across_processes_is_reopened_apart_with_a_warning()
    {
        using var dir = new TestDirectory("fallback-shared");
        var (pid, verdict, cryo) = Cycle("shared", ["--seed=1"], dir);
        string file = Regex.Escape(dir.File("out.shared-file"));
        Assert.Matches(new Regex($@"cryo: warning: pid {pid} fd 3, pid \d+ fd 3 \(Regular {file}\): without pidfd_getfd reopened through " +
                                 @"/proc/\d+/fd/\d+: the processes shared one open file description and now each has its own: " +
                                 "the file offset and status flags are no longer shared between them"), cryo.StandardError);
        Assert.Equal("FAIL: offset after the child's read is 100, expected 110 (the description is not shared)", verdict);
        Assert.Equal(1, cryo.ExitCode); // the restored root's exit status
    }

    /// <summary>
    /// Anonymous pipes: a reopened end is the same pipe with all its data, packets, capacity and
    /// flags, but open() adds O_LARGEFILE, which pipe2 never sets and F_SETFL cannot clear. cryo
    /// warns for every end; the programs, which compare F_GETFL exactly, report that difference
    /// and no other (every other pipe check of theirs passes).
    /// </summary>
    [Theory]
    [InlineData("pipe", "--size=4000")]
    [InlineData("multipipe", "--seed=1")]
    [InlineData("pipewriter", "--extra=10000")]
    public void Pipe_ends_differ_only_by_O_LARGEFILE(string name, string arg)
    {
        using var dir = new TestDirectory($"fallback-{name}");
        var (_, verdict, cryo) = Cycle(name, [arg], dir);
        Assert.StartsWith("FAIL: ", verdict);
        var failures = File.ReadAllLines(dir.LogFile).Where(l => l.Contains("]: FAIL: ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(failures);
        var flags = new Regex(@"fd (\d+) F_GETFL \(status flags\): expected 0([0-7]+) got 0([0-7]+)$");
        foreach (string line in failures)
        {
            var match = flags.Match(line);
            Assert.True(match.Success, $"{name} failed another check than the status flags: {line}\n{dir.Describe(name)}");
            int expected = Convert.ToInt32(match.Groups[2].Value, 8), got = Convert.ToInt32(match.Groups[3].Value, 8);
            Assert.Equal(expected | Native.O_LARGEFILE, got);
            Assert.Matches(new Regex($@"fd {match.Groups[1].Value}\b[^\n]*\(Pipe pipe:\[\d+\]\): without pidfd_getfd reopened through /proc/\d+/fd/\d+: " +
                                     $"status flags are 0{Convert.ToString(got, 8)}, were 0{Convert.ToString(expected, 8)}"), cryo.StandardError);
        }
    }

    /// <summary>
    /// --pipe-dump drain writes packets back through the process's own O_DIRECT write end, which
    /// only pidfd_getfd can copy (a reopen cannot be O_DIRECT): without it the checkpoint is
    /// refused before anything is read, naming pid, fds and why, and the program runs on intact.
    /// </summary>
    [Fact]
    public async Task Drain_of_a_packet_pipe_without_pidfd_getfd_is_refused_before_anything_is_read()
    {
        using var dir = new TestDirectory("fallback-drain");
        using var program = RunningProgram.Start("multipipe", dir, "--seed=1");
        string image = dir.File("image.cryo");
        using var timeout = new CancellationTokenSource(CryoTool.Timeout);
        var result = await CryoTool.Cryo("checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--pipe-dump", "drain")
            .WithEnvironmentVariables(WithoutPidfdGetfd).ExecuteBufferedAsync(timeout.Token);
        Assert.True(result.ExitCode == 1, $"cryo exited {result.ExitCode}: {result.StandardError}");
        Assert.Contains(Assumption, result.StandardError);
        Assert.Matches(new Regex($@"pid {program.Pid}: fd 40 .*fd 41 is an O_DIRECT write end\) and pidfd_getfd is missing.*nothing was drained"),
            result.StandardError);
        Assert.False(File.Exists(image), "a refused checkpoint left a file");
        Assert.False(program.HasExited(), $"the program died. {program.Describe()}");
        Assert.Equal("PASS", program.Terminate());
    }

    /// <summary>
    /// The real trigger, no knob: cryo restores under a seccomp filter that fails pidfd_getfd with
    /// EPERM (what container policies do) or ENOSYS (what a 5.5 kernel says). Inherited by the
    /// restored processes, it fails the injected call; cryo learns the feature is missing and
    /// falls back. The tree must pass, and the warnings show the fallback was taken.
    /// </summary>
    [Theory]
    [InlineData(ErrnoNames.EPERM)]
    [InlineData(ErrnoNames.ENOSYS)]
    public async Task A_seccomp_filter_refusing_pidfd_getfd_is_learned_and_the_restore_falls_back(int errno)
    {
        using var dir = new TestDirectory($"fallback-seccomp-{errno}");
        string image = dir.File("image.cryo"), pidFile = dir.File("restored.pid");
        string wrapper = Compile(dir, "deny-pidfd-getfd", DenyPidfdGetfd);
        int pid;
        using (var program = RunningProgram.Start("multiproc", dir, "--seed=1"))
        {
            pid = program.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            program.WaitForExit("cryo checkpoint kills it by default");
        }
        File.Delete(dir.OutFile);
        using var timeout = new CancellationTokenSource(CryoTool.Timeout);
        var restore = CliWrap.Cli.Wrap(wrapper)
            .WithArguments([errno.ToString(CultureInfo.InvariantCulture), CryoTool.Executable("cryo"), "restore", image, "--pidfile", pidFile])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(timeout.Token);
        try
        {
            Wait.Until(() => File.Exists(pidFile) || restore.Task.IsCompleted, RunningProgram.Timeout, "the restored pidfile", () => dir.Describe("restore"));
            if (!File.Exists(pidFile)) Assert.Fail($"cryo restore ended early: {(await restore).StandardError}\n{dir.Describe("restore")}");
            Assert.Equal(pid, int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture));
            Native.Kill(pid, Signals.SIGTERM);
            var result = await restore;
            Assert.True(dir.Verdict() == "PASS", $"{dir.Verdict()}\n{result.StandardError}\n{dir.Describe("multiproc")}");
            Assert.Equal(0, result.ExitCode);
            Assert.DoesNotContain("CRYO_ASSUME_MISSING", result.StandardError);
            Assert.Matches(new Regex($@"pid {pid} fd 3, pid \d+ fd 3.*without pidfd_getfd reopened through /proc/\d+/fd/\d+: the processes shared one open file description"),
                result.StandardError);
        }
        finally
        {
            if (!restore.Task.IsCompleted) Native.Kill(pid, Signals.SIGKILL);
            try { await restore; }
            catch (OperationCanceledException) { }
        }
    }

    // Runs PROGRAM with pidfd_getfd (438) failing with ERRNO, for it and every descendant. As root
    // (CAP_SYS_ADMIN) no PR_SET_NO_NEW_PRIVS is needed, which the restored processes would inherit.
    private const string DenyPidfdGetfd = """
        #include <linux/audit.h>
        #include <linux/filter.h>
        #include <linux/seccomp.h>
        #include <stddef.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/prctl.h>
        #include <unistd.h>

        int main(int argc, char **argv)
        {
            if (argc < 3) { fprintf(stderr, "usage: %s ERRNO PROGRAM [ARGS...]\n", argv[0]); return 2; }
            struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 438, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)atoi(argv[1]) & SECCOMP_RET_DATA)),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
            };
            struct sock_fprog program = { .len = sizeof filter / sizeof filter[0], .filter = filter };
            if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) { perror("PR_SET_SECCOMP"); return 1; }
            execv(argv[2], argv + 2);
            perror(argv[2]);
            return 127;
        }
        """;

    private static string Compile(TestDirectory dir, string name, string code)
    {
        string source = dir.File($"{name}.c"), executable = dir.File(name);
        File.WriteAllText(source, code);
        var result = CliWrap.Cli.Wrap("gcc").WithArguments(["-O2", "-Wall", "-Werror", "-o", executable, source])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync().GetAwaiter().GetResult();
        if (result.ExitCode != 0) throw new InvalidOperationException($"gcc {name}.c failed ({result.ExitCode}):\n{result.StandardError}");
        return executable;
    }

    /// <summary>Checkpoints the program (normally), restores it without pidfd_getfd, sends SIGTERM: its pid, verdict and what the restoring cryo printed.</summary>
    private static (int Pid, string Verdict, BufferedCommandResult Cryo) Cycle(string name, string[] args, TestDirectory dir,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var (image, pid) = Checkpoints.Kill(dir, name, args);
        File.Delete(dir.OutFile);
        using var restored = Restored.Start(image, dir, environment ?? WithoutPidfdGetfd);
        Assert.Equal(pid, restored.Pid);
        Native.Kill(restored.Pid, Signals.SIGTERM);
        var cryo = restored.WaitForCryo("after SIGTERM", expectSuccess: false);
        return (pid, dir.Verdict(), cryo);
    }
}
