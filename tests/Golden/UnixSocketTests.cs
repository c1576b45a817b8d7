using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Unix socket pairs (USCK, UDAT, FDES kind 6) through real checkpoints and restores, with
/// testprogs/unixsock --child: stream, datagram and seqpacket pairs with bytes queued both ways
/// (an empty datagram among them), an end shut down for sending, an empty pair, a pair whose
/// peer was closed, and a child answering over a pair. The program checks every byte, message
/// boundary, end of file, option and flag; the tests check the image and both ways of checkpointing.
/// </summary>
public class UnixSocketTests
{
    [Fact]
    public void Socket_pairs_come_back_with_their_queues()
    {
        using var dir = new TestDirectory("unixsock");
        var (image, _) = Checkpoints.Kill(dir, "unixsock", "--child");
        var sockets = ImageItems.Of<UnixSocket>(image);
        var data = ImageItems.Of<UnixSocketData>(image);
        var parent = sockets.TakeWhile((s, i) => i == 0 || s.Fd > sockets[i - 1].Fd).ToDictionary(s => s.Fd);

        // S: 100000 bytes wait at 41, 777 at 40; fd 42 is a dup of 41, one description: no USCK of its own.
        Assert.Equal((UnixSocketType.Stream, 777UL), (parent[40].Type, parent[40].QueuedBytes));
        Assert.Equal(100000UL, parent[41].QueuedBytes);
        Assert.Equal((parent[41].SocketId, parent[40].SocketId), (parent[40].PeerId, parent[41].PeerId));
        Assert.DoesNotContain(42, parent.Keys);
        // D: three datagrams of 1, 1000 and 0 bytes at 44, one of 300 at 43; 44 passes credentials.
        Assert.Equal([1, 1000, 0], data.Where(d => d.SocketId == parent[44].SocketId).Select(d => d.Data.Length));
        Assert.Equal([300], data.Where(d => d.SocketId == parent[43].SocketId).Select(d => d.Data.Length));
        Assert.Equal((UnixSocketType.Datagram, UnixSocket.PassCredentials, 0u), (parent[44].Type, parent[44].Options, parent[43].Options));
        // Q: 45 shut down for sending, so 46 for receiving; 10 + 5000 bytes at 46.
        Assert.Equal((UnixSocketType.SeqPacket, UnixSocket.SendShut, UnixSocket.ReceiveShut), (parent[45].Type, parent[45].Shutdown, parent[46].Shutdown));
        Assert.Equal([10, 5000], data.Where(d => d.SocketId == parent[46].SocketId).Select(d => d.Data.Length));
        // H: its peer was closed after sending 50 bytes.
        Assert.Equal((0UL, 50UL), (parent[49].PeerId, parent[49].QueuedBytes));
        // Each queue once in the file, though the child holds the same sockets.
        // The child holds S, D, Q and E too: the same sockets, described alike but for the fd.
        var child = sockets.Skip(parent.Count).ToList();
        Assert.NotEmpty(child);
        Assert.All(child.Where(s => parent.Values.Any(p => p.SocketId == s.SocketId)),
            s => Assert.Equal(parent.Values.Single(p => p.SocketId == s.SocketId) with { Fd = s.Fd }, s));

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Leave_running_reads_the_queues_without_taking_them_and_both_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("unixsock-leave", "unixsock", "--child"));

    /// <summary>A restored pair checkpointed again (its queues made by cryo's sends) still passes.</summary>
    [Fact]
    public void Three_cycles_in_a_row_pass() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("unixsock-cycles", 3, "unixsock", "--child"));
}
