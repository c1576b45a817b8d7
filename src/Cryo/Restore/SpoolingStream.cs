namespace Cryo.Restore;

/// <summary>
/// The input of a streamed restore. Reads pass through until <see cref="SpoolRest"/> copies the
/// rest of the stream into an unlinked temporary file and serves reads from there. That lets the
/// writer at the other end finish: on one machine, `cryo checkpoint PID -o - | cryo restore -`
/// only frees the pids once the whole image is written.
/// </summary>
internal sealed class SpoolingStream(Stream source) : Stream
{
    private FileStream? _spool;

    public bool Spooled => _spool is not null;

    public long SpoolRest()
    {
        if (_spool is not null) return _spool.Length;
        var spool = new FileStream(Path.Combine(Path.GetTempPath(), $"cryo-restore-{Guid.NewGuid():N}.spool"), FileMode.CreateNew,
            FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        try
        {
            source.CopyTo(spool, 1 << 20);
            spool.Position = 0;
        }
        catch
        {
            spool.Dispose();
            throw;
        }
        _spool = spool;
        return spool.Length;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer) => _spool is not null ? _spool.Read(buffer) : source.Read(buffer);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _spool?.Dispose();
            source.Dispose();
        }
        base.Dispose(disposing);
    }
}
