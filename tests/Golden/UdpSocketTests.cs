using System.Globalization;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// UDP sockets (UDPS) through real checkpoints and restores, with testprogs/udpsock: bound and
/// connected IPv4 and IPv6 sockets, a dual-stack one connected to a v4-mapped address, one never
/// bound, one for broadcasts, with their options; the program checks names, options and traffic
/// both ways. A datagram waiting to be read is refused and the program runs on.
/// </summary>
public class UdpSocketTests
{
    [Fact]
    public void Udp_sockets_come_back_bound_connected_and_with_their_options()
    {
        using var dir = new TestDirectory("udpsock");
        var (image, _) = Checkpoints.Kill(dir, "udpsock");
        var sockets = ImageItems.Of<InetDatagramSocket>(image);
        Assert.Equal([40, 41, 42, 43, 44, 45, 46], sockets.Select(s => s.Fd));
        Assert.Equal((InetSocket.Inet, "127.0.0.1", false, 0x10u), (sockets[0].Family, sockets[0].AddressText(sockets[0].LocalAddress), sockets[0].IsConnected, sockets[0].TypeOfService));
        Assert.True((sockets[0].Options & InetDatagramSocket.ReuseAddress) != 0);
        Assert.Equal((true, sockets[0].LocalPort), (sockets[1].IsConnected, sockets[1].PeerPort));
        Assert.Equal((InetSocket.Inet6, InetDatagramSocket.ReusePort | InetDatagramSocket.V6Only, 0x20u), (sockets[2].Family, sockets[2].Options, sockets[2].TypeOfService));
        Assert.True((sockets[4].Options & InetDatagramSocket.Broadcast) != 0);
        Assert.False(sockets[5].IsBound);
        Assert.Equal(("::ffff:127.0.0.1", sockets[0].LocalPort), (sockets[6].AddressText(sockets[6].PeerAddress), sockets[6].PeerPort));
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Left_running_the_original_and_the_copy_pass()
    {
        var (original, copy) = Checkpoints.LeaveRunningThenRestore("udpsock-leave", "udpsock");
        Assert.Equal(("PASS", "PASS"), (original, copy));
    }

    [Fact]
    public void A_datagram_waiting_to_be_read_is_refused_and_the_program_runs_on()
    {
        using var dir = new TestDirectory("udpsock-pending");
        using var program = RunningProgram.Start("udpsock", dir, "--pending");
        var result = CryoTool.Run("checkpoint", program.Pid.ToString(CultureInfo.InvariantCulture), "-o", dir.File("image.cryo"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot checkpoint pid {program.Pid}: fd 40 (socket socket:[", result.StandardError);
        Assert.Contains("datagrams wait in its queue to be read", result.StandardError);
        Assert.False(File.Exists(dir.File("image.cryo")), "a refused checkpoint left a file");
        Assert.Equal("PASS", program.Terminate());
    }
}
