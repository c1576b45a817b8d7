using System.Runtime.InteropServices;
using System.Text;

namespace Cryo.Tests.Golden.Support;

/// <summary>
/// A real pseudo-terminal made for a test: the test holds the master end (as a terminal emulator
/// would), programs get the slave's path. What the programs write is collected from the master;
/// what the test writes to the master is their input. Dispose closes the master.
/// </summary>
public sealed partial class PseudoTerminal : IDisposable
{
    private const int O_RDWR = 2, O_NOCTTY = 0x100, O_NONBLOCK = 0x800, O_CLOEXEC = 0x80000, EAGAIN = 11, EIO = 5;
    private const ulong TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCSWINSZ = 0x5414, TIOCGPGRP = 0x540F;
    private readonly int master;
    private readonly StringBuilder output = new();

    public PseudoTerminal(ushort rows = 0, ushort columns = 0)
    {
        master = Open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0);
        if (master < 0) throw new InvalidOperationException($"open /dev/ptmx: errno {Marshal.GetLastPInvokeError()}");
        int unlock = 0, number;
        unsafe
        {
            if (Ioctl(master, TIOCSPTLCK, &unlock) != 0 || Ioctl(master, TIOCGPTN, &number) != 0)
                throw new InvalidOperationException($"unlocking the pseudo-terminal: errno {Marshal.GetLastPInvokeError()}");
            var size = stackalloc ushort[] { rows, columns, 0, 0 };
            if (Ioctl(master, TIOCSWINSZ, size) != 0) throw new InvalidOperationException($"TIOCSWINSZ: errno {Marshal.GetLastPInvokeError()}");
        }
        SlavePath = $"/dev/pts/{number}";
    }

    public string SlavePath { get; }

    /// <summary>Everything read from the master so far.</summary>
    public string Output
    {
        get
        {
            Drain();
            return output.ToString();
        }
    }

    /// <summary>The terminal's foreground process group (asked through the master).</summary>
    public unsafe int ForegroundGroup
    {
        get
        {
            int group;
            return Ioctl(master, TIOCGPGRP, &group) == 0 ? group : -Marshal.GetLastPInvokeError();
        }
    }

    public unsafe void Write(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = bytes)
            if (WriteBytes(master, p, (nuint)bytes.Length) != bytes.Length)
                throw new InvalidOperationException($"write to the pseudo-terminal master: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Waits until <paramref name="text"/> has appeared <paramref name="times"/> times in the output.</summary>
    public void WaitFor(string text, Func<string> describe, int times = 1) =>
        Wait.Until(() => Count(Output, text) >= times, RunningProgram.Timeout, $"'{text}' x{times} on {SlavePath}",
            () => $"the terminal showed: {Output.Replace("\r", "\\r").Replace("\n", "\\n")}\n{describe()}");

    private static int Count(string haystack, string needle)
    {
        int count = 0;
        for (int at = haystack.IndexOf(needle, StringComparison.Ordinal); at >= 0; at = haystack.IndexOf(needle, at + needle.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    private unsafe void Drain()
    {
        var buffer = stackalloc byte[4096];
        while (true)
        {
            nint n = ReadBytes(master, buffer, 4096);
            if (n <= 0) return; // EAGAIN: nothing more now; EIO: no slave is open
            output.Append(Encoding.UTF8.GetString(buffer, (int)n));
        }
    }

    public void Dispose() => Close(master);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static unsafe partial int Ioctl(int fd, ulong request, void* argument);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint ReadBytes(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static unsafe partial nint WriteBytes(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
