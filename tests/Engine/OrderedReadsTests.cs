using System.Collections.Concurrent;
using Cryo.Checkpoint;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// OrderedReads on real threads: every job reaches the consumer once and in order, through a
/// buffer or put in place; in-place jobs are the ones readers take from the back when the
/// consumer holds every buffer; and a reader's failure reaches the consumer.
/// </summary>
public sealed class OrderedReadsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Buffered_jobs_reach_the_consumer_in_order()
    {
        using var reads = new OrderedReads(50, 2, 16, (job, buffer) => buffer.AsSpan(0, 16).Fill((byte)job));
        for (int job = 0; job < 50; job++)
        {
            byte[] buffer = reads.Take(job)!;
            Assert.True(buffer.AsSpan(0, 16).IndexOfAnyExcept((byte)job) < 0, $"job {job}: the buffer holds another job's data");
            reads.Release(buffer);
        }
    }

    [Fact]
    public void While_the_consumer_holds_the_buffers_readers_place_jobs_from_the_back()
    {
        const int jobs = 40;
        var placed = new ConcurrentDictionary<int, int>();
        using var firstPlaced = new ManualResetEventSlim();
        using var reads = new OrderedReads(jobs, 2, 16, (job, buffer) => buffer.AsSpan(0, 16).Fill((byte)job), job =>
        {
            placed.AddOrUpdate(job, 1, (_, n) => n + 1);
            firstPlaced.Set();
        });
        // The consumer takes nothing until a reader, finding every buffer full, has placed a job.
        Assert.True(firstPlaced.Wait(Timeout), "no job was put in place while all buffers were taken");
        int lastBuffered = -1, firstPlacedJob = jobs;
        for (int job = 0; job < jobs; job++)
        {
            byte[]? buffer = reads.Take(job);
            if (buffer is null)
            {
                Assert.True(placed.TryGetValue(job, out int times) && times == 1, $"job {job} was handed over as placed, but placed {times} times");
                firstPlacedJob = Math.Min(firstPlacedJob, job);
                continue;
            }
            Assert.False(placed.ContainsKey(job), $"job {job} was both placed and buffered");
            Assert.True(buffer.AsSpan(0, 16).IndexOfAnyExcept((byte)job) < 0, $"job {job}: the buffer holds another job's data");
            lastBuffered = job;
            reads.Release(buffer);
        }
        Assert.True(lastBuffered < firstPlacedJob, $"buffered jobs up to {lastBuffered}, placed from {firstPlacedJob}: not a front and a back");
        Assert.Equal(jobs - firstPlacedJob, placed.Count);
        Assert.Contains(jobs - 1, placed.Keys);
    }

    [Fact]
    public void Without_buffers_every_job_is_placed()
    {
        var placed = new ConcurrentBag<int>();
        using (var reads = new OrderedReads(20, 2, 16, (_, _) => Assert.Fail("a job was read into a buffer"), placed.Add, buffers: 0))
            for (int job = 0; job < 20; job++)
                Assert.Null(reads.Take(job));
        Assert.Equal(Enumerable.Range(0, 20), placed.Order());
        Assert.Throws<ArgumentException>(() => new OrderedReads(1, 1, 16, (_, _) => { }, buffers: 0));
    }

    [Fact]
    public void A_reader_failure_reaches_the_consumer()
    {
        using var reads = new OrderedReads(10, 2, 16, (job, _) =>
        {
            if (job == 3) throw new IOException("job 3 failed");
        });
        for (int job = 0; job < 3; job++) reads.Release(reads.Take(job)!);
        var e = Assert.Throws<IOException>(() => reads.Take(3));
        Assert.Equal("job 3 failed", e.Message);
    }
}
