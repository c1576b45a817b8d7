using System.Globalization;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Programs that run on a terminal (FDES kind 10, TTYS), through real pseudo-terminals the tests
/// hold the master ends of: a session leader whose controlling terminal it is (testprogs/terminal
/// --ctty --raw, with /dev/tty open and the terminal opened twice) restored onto another terminal with --tty, and a shell's
/// job, an unmodified `cat` run by testprogs/ttyrun --job, restored by a `cryo restore` that runs
/// on a terminal of its own: the job gets its foreground, and Ctrl-Z and SIGCONT work through cryo.
/// </summary>
public class TerminalTests
{
    private static readonly string Ttyrun = TestPrograms.Path("ttyrun");

    [Fact]
    public void A_session_leader_comes_back_on_another_terminal_with_its_settings_control_and_a_SIGWINCH()
    {
        using var dir = new TestDirectory("terminal-leader");
        using var before = new PseudoTerminal();
        string image = dir.File("image.cryo");
        int pid;
        using (var program = RunningProgram.Start("terminal", dir, $"--tty={before.SlavePath}", "--ctty", "--raw", "--expect-lines=2", "--expect-winch", "--second-open"))
        {
            pid = program.Pid;
            before.WaitFor("terminal: ready", program.Describe);
            before.Write("one\r");
            before.WaitFor("got: one rows=0 cols=0 winch=0", program.Describe);
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            program.WaitForExit("cryo checkpoint kills it by default");
        }

        var descriptors = ImageItems.Of<FileDescriptor>(image);
        Assert.Equal([0, 1, 2, 3, 9], descriptors.Where(d => d.Kind == FileKind.Terminal).Select(d => d.Fd));
        Assert.Equal("/dev/tty", System.Text.Encoding.UTF8.GetString(descriptors.Single(d => d.Fd == 3).Path));
        // One TTYS per terminal device: the pty (fd 0, shared by 1 and 2; fd 9 is a second open of it) and /dev/tty (fd 3).
        var terminals = ImageItems.Of<TerminalState>(image);
        Assert.Equal([0, 3], terminals.Select(t => t.Fd));
        Assert.All(terminals, t => Assert.Equal(TerminalState.Controlling | TerminalState.Foreground, t.Flags));
        const uint ICANON = 0x2, ECHO = 0x8, VINTR = 0;
        Assert.Equal((0u, (byte)0x07), (terminals[0].LocalModes & (ICANON | ECHO), terminals[0].ControlChars[VINTR]));

        using var after = new PseudoTerminal(rows: 30, columns: 100);
        using var restored = Restored.Start(image, dir, null, "--tty", after.SlavePath);
        Assert.Equal(pid, restored.Pid);
        after.Write("two\r");
        after.WaitFor("got: two rows=30 cols=100 winch=1", () => dir.Describe("restored"));
        Native.Kill(pid, Signals.SIGTERM);
        restored.WaitForCryo("after SIGTERM", expectSuccess: true);
        Assert.Equal("PASS", dir.Verdict());
    }

    [Fact]
    public void A_shell_job_comes_back_in_the_foreground_of_cryos_terminal_and_stops_and_continues_with_it()
    {
        using var dir = new TestDirectory("terminal-job");
        string image = dir.File("image.cryo"), pidFile = dir.File("job.pid");
        int cat;
        using (var before = new PseudoTerminal())
        using (var shell = Spawned.Start(dir, "shell", Ttyrun, $"--tty={before.SlavePath}", "--job", $"--pidfile={pidFile}", "--", "cat"))
        {
            Wait.Until(() => File.Exists(pidFile) || shell.HasExited(), RunningProgram.Timeout, "the job's pidfile", shell.Describe);
            cat = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
            before.Write("one\n");
            before.WaitFor("one\r\n", shell.Describe, times: 2); // the terminal's echo, then cat's copy
            CryoTool.Must(dir, "checkpoint", cat.ToString(CultureInfo.InvariantCulture), "-o", image);
            Assert.Equal(128 + Signals.SIGKILL, shell.WaitForExit("its job was checkpointed and killed"));
        }
        var state = Assert.Single(ImageItems.Of<TerminalState>(image));
        Assert.Equal(TerminalState.Controlling | TerminalState.Foreground, state.Flags);

        // cryo restore on a terminal of its own, as a shell starts it: a session leader in the foreground.
        using var after = new PseudoTerminal();
        string restoredPid = dir.File("restored.pid");
        using var cryo = Spawned.Start(dir, "cryo-restore", Ttyrun, $"--tty={after.SlavePath}", "--",
            CryoTool.Executable("cryo"), "restore", image, "--pidfile", restoredPid);
        Wait.Until(() => File.Exists(restoredPid) || cryo.HasExited(), RunningProgram.Timeout, "the restored pidfile", cryo.Describe);
        Assert.Equal(cat, int.Parse(File.ReadAllText(restoredPid).Trim(), CultureInfo.InvariantCulture));
        Assert.Equal(cat, after.ForegroundGroup);
        after.Write("two\n");
        after.WaitFor("two\r\n", cryo.Describe, times: 2);

        // Ctrl-Z stops the job; cryo takes the terminal back and stops too, as a shell's job does.
        after.Write("\u001a");
        Wait.Until(() => StateOf(cryo.Pid) == 'T' && StateOf(cat) == 'T' && after.ForegroundGroup == cryo.Pid, RunningProgram.Timeout,
            "cryo and the job to stop, cryo holding the terminal", () => $"cryo {StateOf(cryo.Pid)}, cat {StateOf(cat)}, foreground {after.ForegroundGroup}. {cryo.Describe()}");
        // Continued (the shell's fg), cryo gives the terminal back and continues the job.
        Native.Kill(cryo.Pid, Signals.SIGCONT);
        Wait.Until(() => after.ForegroundGroup == cat && StateOf(cat) != 'T', RunningProgram.Timeout, "the job to have the terminal again",
            () => $"cat {StateOf(cat)}, foreground {after.ForegroundGroup}. {cryo.Describe()}");
        after.Write("three\n");
        after.WaitFor("three\r\n", cryo.Describe, times: 2);

        after.Write("\u0004"); // end of input: cat exits 0, and cryo with it
        Assert.Equal(0, cryo.WaitForExit("cat read the end of its input"));
    }

    [Fact]
    public void A_restore_without_a_terminal_fails_before_the_process_runs_and_leaves_nothing()
    {
        using var dir = new TestDirectory("terminal-none");
        using var before = new PseudoTerminal();
        string image = dir.File("image.cryo");
        int pid;
        using (var program = RunningProgram.Start("terminal", dir, $"--tty={before.SlavePath}"))
        {
            pid = program.Pid;
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            program.WaitForExit("cryo checkpoint kills it by default");
        }
        var result = CryoTool.RunWithoutTerminal("restore", image);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"pid {pid} fd 0 (terminal {before.SlavePath}): the process ran on a terminal and cryo restore has none: run it on a terminal, or give one with --tty PATH", result.StandardError);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"pid {pid} exists after the failed restore");
    }

    private static char StateOf(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].Trim()[0]; }
        catch (IOException) { return '?'; }
    }
}
