using System.Globalization;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Resources;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// The semaphore probe for kernels whose fdinfo does not show EFD_SEMAPHORE, on real eventfds of
/// this process (pidfd_getfd of one's own descriptor works like any other process's).
/// </summary>
public sealed class EventCountersTests
{
    [Theory]
    [InlineData(true, 0UL)]
    [InlineData(true, 5UL)]
    [InlineData(false, 0UL)]
    [InlineData(false, 9UL)]
    public unsafe void Semaphore_mode_shows_in_what_a_read_returns_and_the_counter_is_left_as_it_was(bool semaphore, ulong count)
    {
        int pid = Environment.ProcessId;
        int fd = Native.Eventfd((semaphore ? Native.EFD_SEMAPHORE : 0) | Native.O_NONBLOCK | Native.O_CLOEXEC, "test eventfd");
        try
        {
            if (count > 0) Assert.Equal(8, (int)Native.Write(fd, (byte*)&count, 8));
            if (ProcFdInfo.Read(pid, fd).Get("eventfd-semaphore") is { } shown) Assert.Equal(semaphore ? "1" : "0", shown);

            Assert.Equal(semaphore, EventCounters.ProbeSemaphore(pid, fd, count, $"fd {fd}"));
            Assert.Equal(count.ToString("x", CultureInfo.InvariantCulture), ProcFdInfo.Read(pid, fd).Get("eventfd-count"));
        }
        finally { Native.Close(fd); }
    }
}
