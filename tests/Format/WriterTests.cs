using Cryo.Format;
using Xunit;

namespace Cryo.Tests.Format;

public sealed class WriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cryo-writer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Pages_checksummed_ahead_are_written_exactly_as_without()
    {
        var random = new Random(7);
        var runs = new[] { 1, 3, 256, 257, 700 }.Select(pages => (Address: (ulong)random.Next(1, 1 << 20) << 12, Data: new byte[pages * 4096])).ToList();
        foreach (var run in runs) random.NextBytes(run.Data);
        byte[] Write(bool ahead)
        {
            var stream = new MemoryStream();
            using var writer = new CheckpointWriter(stream, SampleFiles.Header(), leaveOpen: true);
            writer.BeginSection(ItemKinds.Process);
            foreach (var (address, data) in runs)
                writer.WritePages(address, data, ahead ? CheckpointWriter.ChecksumPages(address, data, 4096) : null);
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
            return stream.ToArray();
        }
        byte[] plain = Write(ahead: false);
        Assert.Equal(plain, Write(ahead: true));
        using (var reader = CheckpointReader.OpenFile(WriteTemp(plain)))
            Assert.Equal((ulong)(runs.Sum(r => (r.Data.Length + (1 << 20) - 1) >> 20) + 2), reader.VerifyToEnd());

        using var other = new CheckpointWriter(new MemoryStream(), SampleFiles.Header());
        other.BeginSection(ItemKinds.Process);
        var sums = CheckpointWriter.ChecksumPages(0x1000, runs[1].Data, 4096);
        Assert.Throws<ArgumentException>(() => other.WritePages(0x2000, runs[1].Data, sums));
        Assert.Throws<ArgumentException>(() => other.WritePages(0x1000, runs[0].Data, sums));
    }

    [Fact]
    public void A_reservation_larger_than_the_image_is_given_back()
    {
        string path = Path.Combine(_dir, "reserved.cryo");
        long written;
        using (var writer = CheckpointWriter.CreateFile(path, SampleFiles.Header()))
        {
            RandomAccess.SetLength(writer.FileHandle!, 8 << 20);
            writer.BeginSection(ItemKinds.Fifo);
            writer.EndSection(ItemKinds.Fifo);
            writer.Complete();
            written = writer.BytesWritten;
        }
        Assert.Equal(written, new FileInfo(path).Length);
        using var reader = CheckpointReader.OpenFile(path);
        Assert.Equal(2UL, reader.VerifyToEnd());
    }

    private string WriteTemp(byte[] file)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.cryo");
        File.WriteAllBytes(path, file);
        return path;
    }

    [Fact]
    public void A_file_appears_only_when_complete_and_only_for_its_owner()
    {
        string path = Path.Combine(_dir, "job.cryo");
        using (var writer = CheckpointWriter.CreateFile(path, SampleFiles.Header()))
        {
            writer.BeginSection(ItemKinds.Fifo);
            writer.EndSection(ItemKinds.Fifo);
            Assert.False(File.Exists(path));
            var temp = Assert.Single(Directory.GetFiles(_dir));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(temp));
            writer.Complete();
        }
        Assert.Equal([path], Directory.GetFiles(_dir));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var reader = CheckpointReader.OpenFile(path);
        Assert.Equal(2UL, reader.VerifyToEnd());
    }

    [Fact]
    public void An_abandoned_file_leaves_nothing_and_keeps_the_old_one()
    {
        string path = Path.Combine(_dir, "job.cryo");
        File.WriteAllText(path, "previous checkpoint");
        using (var writer = CheckpointWriter.CreateFile(path, SampleFiles.Header()))
            writer.BeginSection(ItemKinds.Process);
        Assert.Equal([path], Directory.GetFiles(_dir));
        Assert.Equal("previous checkpoint", File.ReadAllText(path));
    }

    [Fact]
    public void Misuse_is_refused()
    {
        using var writer = new CheckpointWriter(new MemoryStream(), SampleFiles.Header());
        Assert.Throws<InvalidOperationException>(() => writer.Write(new PipeInfo(1, PipeKind.Anonymous, false, 4096, 0)));
        writer.BeginSection(ItemKinds.Process);
        Assert.Throws<InvalidOperationException>(() => writer.EndSection(ItemKinds.Fifo));
        Assert.Throws<ArgumentException>(() => writer.WritePages(0x1000, new byte[100]));
        Assert.Throws<InvalidOperationException>(() => writer.Complete());
        Assert.Throws<ArgumentException>(() => writer.WriteOpaqueItem(ItemKinds.Process, true, []));
    }

    [Fact]
    public void Streams_are_written_without_seeking()
    {
        var pipeLike = new NonSeekableStream();
        using (var writer = new CheckpointWriter(pipeLike, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.WritePages(0x10000, new byte[3 << 20]);
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }
        var items = RawCheckpoint.ReadAll(pipeLike.ToArray());
        Assert.Equal(3, items.Count(i => i is PageData));
    }

    private sealed class NonSeekableStream : MemoryStream
    {
        public override bool CanSeek => false;
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException("no seeking on a pipe");
        public override long Position { get => base.Position; set => throw new NotSupportedException("no seeking on a pipe"); }
    }
}
