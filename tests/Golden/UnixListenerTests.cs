using System.Text;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Listening Unix sockets (ULSN) through real checkpoints and restores, with testprogs/unixlisten:
/// a stream listener on a path (SO_PASSCRED, its socket file mode 0660), a seqpacket one on an
/// abstract name, and a non-blocking one on an autobound name; after the restore the program
/// connects to each by its name, exchanges bytes and checks names, options, the file and the
/// backlogs. A listener with a connection waiting is refused and runs on.
/// </summary>
public class UnixListenerTests
{
    [Fact]
    public void Listeners_come_back_on_their_names_with_their_socket_file()
    {
        using var dir = new TestDirectory("unixlisten");
        var (image, pid) = Checkpoints.Kill(dir, "unixlisten");
        var listeners = ImageItems.Of<UnixListener>(image);
        Assert.Equal([40, 41, 42], listeners.Select(l => l.Fd));
        Assert.Equal((UnixSocketType.Stream, 7u, UnixSocket.PassCredentials, 0x1b0u), (listeners[0].Type, listeners[0].Backlog, listeners[0].Options, listeners[0].FileMode & 0xfff));
        Assert.Equal($"{dir.Path}/ctl.{pid}", Encoding.UTF8.GetString(listeners[0].Name));
        Assert.Equal((UnixSocketType.SeqPacket, 3u, true), (listeners[1].Type, listeners[1].Backlog, listeners[1].IsAbstract));
        Assert.Equal($"\0cryo-unixlisten-{pid}", Encoding.UTF8.GetString(listeners[1].Name));
        Assert.Equal((5u, true, 6), (listeners[2].Backlog, listeners[2].IsAbstract, listeners[2].Name.Length));
        // The killed process's socket file is still there: the restore must replace exactly that one.
        Assert.True(File.Exists($"{dir.Path}/ctl.{pid}"));
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Three_cycles_in_a_row_pass() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("unixlisten-cycles", 3, "unixlisten"));

    [Fact]
    public void A_listener_with_a_connection_waiting_is_refused_and_runs_on()
    {
        using var dir = new TestDirectory("unixlisten-pending");
        using var program = RunningProgram.Start("unixlisten", dir, "--pending");
        var result = CryoTool.Run("checkpoint", program.Pid.ToString(), "-o", dir.File("image.cryo"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot checkpoint pid {program.Pid}: fd 40 (socket socket:[", result.StandardError);
        Assert.Contains("1 connection(s) wait in its queue to be accepted", result.StandardError);
        Assert.Equal("PASS", program.Terminate());
    }
}
