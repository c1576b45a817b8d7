using Cryo.Checkpoint;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>OrderedReads on real threads: every job reaches the consumer once and in order, and a reader's failure reaches the consumer.</summary>
public sealed class OrderedReadsTests
{
    [Fact]
    public void Buffered_jobs_reach_the_consumer_in_order()
    {
        using var reads = new OrderedReads(50, 2, 16, (job, buffer) => buffer.AsSpan(0, 16).Fill((byte)job));
        for (int job = 0; job < 50; job++)
        {
            byte[] buffer = reads.Take(job);
            Assert.True(buffer.AsSpan(0, 16).IndexOfAnyExcept((byte)job) < 0, $"job {job}: the buffer holds another job's data");
            reads.Release(buffer);
        }
    }

    [Fact]
    public void A_reader_failure_reaches_the_consumer()
    {
        using var reads = new OrderedReads(10, 2, 16, (job, _) =>
        {
            if (job == 3) throw new IOException("job 3 failed");
        });
        for (int job = 0; job < 3; job++) reads.Release(reads.Take(job));
        var e = Assert.Throws<IOException>(() => reads.Take(3));
        Assert.Equal("job 3 failed", e.Message);
    }
}
