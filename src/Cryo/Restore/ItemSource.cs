using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Cryo.Format;

namespace Cryo.Restore;

/// <summary>An item of the image with where it stands, for error messages.</summary>
internal readonly record struct ImageItem(CheckpointItem Item, ulong Index, long Offset);

/// <summary>
/// The items of an image in order. A mapped reader's items stay valid after the next one is
/// read, so they are read (parsed, and any checksum not verified by a first pass computed) on a
/// thread of their own, ahead of the restore that applies them; a stream reader's payload lives
/// in a buffer reused by the next item, so its items are read one at a time by the caller.
/// </summary>
internal sealed class ItemSource : IDisposable
{
    // Items read ahead at most: 16 page items are 16 MiB of the mapped file, about 10 ms of restore.
    private const int ReadAhead = 16;

    private readonly CheckpointReader _reader;
    private readonly BlockingCollection<ImageItem>? _ready;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread? _thread;
    private ExceptionDispatchInfo? _failure;

    // Below this a thread costs more than it saves (a `sleep` image is about 100 KiB).
    private const long ReadAheadAbove = 4 << 20;

    /// <param name="reader">the image.</param>
    /// <param name="imageBytes">its size, when known: small images are read without a thread.</param>
    public ItemSource(CheckpointReader reader, long imageBytes)
    {
        _reader = reader;
        if (!reader.PayloadsPersist || imageBytes < ReadAheadAbove) return;
        _ready = new BlockingCollection<ImageItem>(ReadAhead);
        _thread = new Thread(ReadAll) { IsBackground = true, Name = "cryo image read-ahead" };
        _thread.Start();
    }

    /// <summary>The next item, or null after the trailer has been read and checked.</summary>
    public ImageItem? Next()
    {
        if (_ready is null)
            return _reader.GetNextItem() is { } item ? new ImageItem(item, _reader.ItemIndex, _reader.ItemOffset) : null;
        if (_ready.TryTake(out var next, Timeout.Infinite)) return next;
        _failure?.Throw(); // the reader's fault, on the thread that applies the items
        return null;
    }

    private void ReadAll()
    {
        try
        {
            while (_reader.GetNextItem() is { } item)
                _ready!.Add(new ImageItem(item, _reader.ItemIndex, _reader.ItemOffset), _stop.Token);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        catch (Exception e)
        {
            _failure = ExceptionDispatchInfo.Capture(e);
        }
        finally
        {
            _ready!.CompleteAdding();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread?.Join();
        _ready?.Dispose();
        _stop.Dispose();
    }
}
