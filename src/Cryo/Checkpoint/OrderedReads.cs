using System.Buffers;

namespace Cryo.Checkpoint;

/// <summary>
/// Runs numbered read jobs on several threads and hands their buffers to one consumer in job
/// order. A dump writes pages in address order, but copying them out of the target
/// (process_vm_readv) is the slow half of the work and runs in parallel on different pages, so
/// the readers work ahead of the writer on as many buffers as there are readers plus one.
/// A reader takes a free buffer before it claims the next job, so the lowest unfinished job
/// always holds a buffer and the consumer can never wait for a job that waits for a buffer.
/// </summary>
internal sealed class OrderedReads : IDisposable
{
    private readonly int _jobCount;
    private readonly Action<int, byte[]> _read;
    private readonly SemaphoreSlim _freeCount;
    private readonly Stack<byte[]> _free = new();
    private readonly byte[]?[] _done;
    private readonly Thread[] _readers;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _lock = new();
    private int _nextJob;
    private Exception? _failure;

    /// <param name="jobCount">how many jobs; job i is handed over by <see cref="Take"/>(i).</param>
    /// <param name="readers">reader threads.</param>
    /// <param name="bufferSize">bytes of each buffer.</param>
    /// <param name="read">fills the buffer for a job; runs on a reader thread.</param>
    public OrderedReads(int jobCount, int readers, int bufferSize, Action<int, byte[]> read)
    {
        _jobCount = jobCount;
        _read = read;
        _done = new byte[]?[jobCount];
        int buffers = readers + 1;
        for (int i = 0; i < buffers; i++) _free.Push(ArrayPool<byte>.Shared.Rent(bufferSize));
        _freeCount = new SemaphoreSlim(buffers);
        _readers = new Thread[Math.Min(readers, Math.Max(1, jobCount))];
        for (int i = 0; i < _readers.Length; i++)
        {
            _readers[i] = new Thread(ReadJobs) { IsBackground = true, Name = $"cryo page reader {i}" };
            _readers[i].Start();
        }
    }

    /// <summary>Waits for job <paramref name="job"/>'s buffer; give it back with <see cref="Release"/>. Rethrows a reader's failure.</summary>
    public byte[] Take(int job)
    {
        lock (_lock)
        {
            while (_done[job] is null && _failure is null) Monitor.Wait(_lock);
            if (_done[job] is { } buffer)
            {
                _done[job] = null;
                return buffer;
            }
            throw _failure!;
        }
    }

    public void Release(byte[] buffer)
    {
        lock (_lock) _free.Push(buffer);
        _freeCount.Release();
    }

    private void ReadJobs()
    {
        try
        {
            while (true)
            {
                _freeCount.Wait(_stop.Token);
                byte[] buffer;
                int job;
                lock (_lock)
                {
                    buffer = _free.Pop();
                    job = _nextJob < _jobCount ? _nextJob++ : -1;
                    if (job < 0)
                    {
                        _free.Push(buffer);
                        _freeCount.Release();
                        return;
                    }
                }
                _read(job, buffer);
                lock (_lock)
                {
                    _done[job] = buffer;
                    Monitor.PulseAll(_lock);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        catch (Exception e)
        {
            lock (_lock)
            {
                _failure ??= e;
                Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>Stops the readers (after a failure of the consumer too) and returns every buffer to the pool.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        foreach (var reader in _readers) reader.Join();
        foreach (byte[] buffer in _free.Concat(_done.OfType<byte[]>())) ArrayPool<byte>.Shared.Return(buffer);
        _freeCount.Dispose();
        _stop.Dispose();
    }
}
