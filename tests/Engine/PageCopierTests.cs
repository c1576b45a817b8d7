using Cryo.Interop;
using Cryo.Restore;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// PageCopier on real memory: process_vm_writev into this test process itself, into a mapping
/// whose tail is read-only, so the copy must stop there and say where (restore then writes the
/// rest through /proc/PID/mem).
/// </summary>
public sealed unsafe class PageCopierTests
{
    private const long ProtRead = 1, ProtWrite = 2, MapPrivate = 0x02, MapAnonymous = 0x20;

    [Theory]
    [InlineData(4096, 4096)]                  // below the split: one call on the caller's thread
    [InlineData(1 << 20, 1 << 20)]            // shared between the threads in chunks
    [InlineData(3 << 20, (3 << 20) - 40960)]  // a read-only tail: copied up to it, no further
    [InlineData(3 << 20, 200 << 10)]          // read-only from inside the second chunk
    public void Copies_everything_it_can_and_reports_where_it_stopped(int length, int writable)
    {
        long mapped = Native.Syscall(SyscallNumbers.Mmap, 0, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        Assert.True(mapped > 0, $"mmap: {mapped}");
        try
        {
            if (writable < length)
                Assert.Equal(0, Native.Syscall(SyscallNumbers.Mprotect, mapped + writable, length - writable, ProtRead));
            var source = new byte[length];
            new Random(length ^ writable).NextBytes(source);
            using var copier = new PageCopier();
            for (int round = 0; round < 3; round++) // the helper thread is reused across jobs
            {
                new Span<byte>((void*)mapped, writable).Clear();
                long copied;
                fixed (byte* from = source) copied = copier.Copy(Environment.ProcessId, from, (ulong)mapped, length);
                Assert.Equal(writable, copied);
                Assert.True(source.AsSpan(0, writable).SequenceEqual(new ReadOnlySpan<byte>((void*)mapped, writable)), $"round {round}: the bytes differ");
            }
        }
        finally
        {
            Native.Syscall(SyscallNumbers.Munmap, mapped, length);
        }
    }
}
