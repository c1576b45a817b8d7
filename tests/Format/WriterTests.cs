using Cryo.Format;
using Xunit;

namespace Cryo.Tests.Format;

public sealed class WriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cryo-writer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

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
