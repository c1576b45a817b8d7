using System.Globalization;
using System.Net.Http;
using System.Text.RegularExpressions;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Listening TCP sockets (ISCK) through real checkpoints and restores: an unmodified Python
/// http.server on IPv4 and on IPv6 loopback answers an HTTP request before the checkpoint and
/// after the restore, on the same port; and the listener of `unsupported --kind=socket`.
/// </summary>
public class ListenerTests
{
    [Theory]
    [InlineData("127.0.0.1", InetSocket.Inet)]
    [InlineData("::1", InetSocket.Inet6)]
    public void An_http_server_serves_on_its_port_after_a_restore(string address, byte family)
    {
        using var dir = new TestDirectory("listener-http");
        string served = Directory.CreateDirectory(dir.File("served")).FullName;
        File.WriteAllText(Path.Combine(served, "hello.txt"), "hello from before the checkpoint\n");
        string image = dir.File("image.cryo");
        int pid, port;
        using (var server = Spawned.Start(dir, "http", "/usr/bin/python3", "-u", "-m", "http.server", "0", "--bind", address, "--directory", served))
        {
            pid = server.Pid;
            Wait.Until(() => Regex.IsMatch(server.Output, @"port \d+"), RunningProgram.Timeout, "http.server's port", server.Describe);
            port = int.Parse(Regex.Match(server.Output, @"port (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.Contains("hello from before", Get(address, port, "/hello.txt"));
            CryoTool.Must(dir, "checkpoint", pid.ToString(CultureInfo.InvariantCulture), "-o", image);
            server.WaitForExit("cryo checkpoint kills it by default");
        }
        var listener = Assert.Single(ImageItems.Of<InetSocket>(image));
        Assert.Equal((family, (ushort)port, address), (listener.Family, listener.Port, listener.AddressText));
        Assert.True(listener.Backlog > 0, $"backlog {listener.Backlog}: inet_diag gave none");

        File.WriteAllText(Path.Combine(served, "after.txt"), "written after the checkpoint\n");
        using var restored = Restored.Start(image, dir);
        Assert.Contains("written after the checkpoint", Get(address, port, "/after.txt"));
        Native.Kill(pid, Signals.SIGTERM);
        restored.WaitForCryo("after SIGTERM", expectSuccess: false);
    }

    private static string Get(string address, int port, string path)
    {
        using var http = new HttpClient { Timeout = RunningProgram.Timeout };
        string host = address.Contains(':') ? $"[{address}]" : address;
        return http.GetStringAsync(new Uri($"http://{host}:{port}{path}")).GetAwaiter().GetResult();
    }
}
