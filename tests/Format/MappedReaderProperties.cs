using Cryo.Format;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Cryo.Tests.Format;

/// <summary>
/// A mapped reader (<see cref="CheckpointReader.OpenMapped"/>, used by restore) must read and
/// reject exactly what a stream reader reads and rejects: the same items, and for damaged files
/// the same first fault (offset, item, reason), also when <see cref="CheckpointReader.VerifyToEnd"/>
/// checks the checksums on all cores first.
/// </summary>
public sealed class MappedReaderProperties : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cryo-mapped-").FullName;
    private int _files;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Items as read (data copied out), or the fault that ended the read.</summary>
    private static (List<CheckpointItem> Items, string? Fault) Outcome(Func<CheckpointReader> open, bool verifyFirst)
    {
        var items = new List<CheckpointItem>();
        try
        {
            using var reader = open();
            if (verifyFirst)
            {
                reader.VerifyToEnd();
                return (items, null);
            }
            while (reader.GetNextItem() is { } item) items.Add(RawCheckpoint.Detach(item));
            return (items, null);
        }
        catch (CheckpointFormatException e)
        {
            return (items, $"{e.Offset}: {e.Message}");
        }
    }

    private void AssertSameOutcome(byte[] file)
    {
        string path = Path.Combine(_dir, $"{_files++}.cryo");
        File.WriteAllBytes(path, file);
        foreach (bool verifyFirst in new[] { false, true })
        {
            var expected = Outcome(() => new CheckpointReader(new MemoryStream(file), returnUnknownItems: true), verifyFirst);
            AssertSame(expected, Outcome(() => CheckpointReader.OpenMapped(path, returnUnknownItems: true), verifyFirst));
        }
        // Verified, then read again (Rewind: what a restore does): the fault of the first pass,
        // or, for a good file, every item again as a stream reader reads it.
        var verified = Outcome(() => new CheckpointReader(new MemoryStream(file), returnUnknownItems: true), verifyFirst: true);
        AssertSame(verified.Fault is null ? Outcome(() => new CheckpointReader(new MemoryStream(file), returnUnknownItems: true), verifyFirst: false) : verified,
            VerifiedThenRead(path));
        File.Delete(path);
    }

    private static void AssertSame((List<CheckpointItem> Items, string? Fault) expected, (List<CheckpointItem> Items, string? Fault) actual)
    {
        Assert.Equal(expected.Fault, actual.Fault);
        Assert.Equal(expected.Items.Count, actual.Items.Count);
        for (int i = 0; i < expected.Items.Count; i++)
            Assert.True(ItemComparer.Difference(expected.Items[i], actual.Items[i]) is null,
                $"item {i}: {ItemComparer.Difference(expected.Items[i], actual.Items[i])}");
    }

    private static (List<CheckpointItem> Items, string? Fault) VerifiedThenRead(string path)
    {
        var items = new List<CheckpointItem>();
        try
        {
            using var reader = CheckpointReader.OpenMapped(path, returnUnknownItems: true);
            reader.VerifyToEnd();
            reader.Rewind();
            while (reader.GetNextItem() is { } item) items.Add(RawCheckpoint.Detach(item));
            Assert.NotNull(reader.Trailer);
            reader.CheckUnchanged();
            return (items, null);
        }
        catch (CheckpointFormatException e)
        {
            return (items, $"{e.Offset}: {e.Message}");
        }
    }

    private static Gen<byte[]> Files =>
        ItemGenerators.Body.Where(items => items.Sum(ItemGenerators.DataBytes) < 4 << 20)
            .Select(ItemGenerators.Write);

    [Property(MaxTest = 40)]
    public Property Intact_files_read_alike() =>
        Prop.ForAll(Files.ToArbitrary(), AssertSameOutcome);

    [Property(MaxTest = 150)]
    public Property Flipped_bits_are_reported_alike() =>
        Prop.ForAll(Files.ToArbitrary(), ArbMap.Default.GeneratorFor<int>().ToArbitrary(), (file, where) =>
        {
            long bit = (long)(uint)where % (file.Length * 8L);
            file[bit / 8] ^= (byte)(1 << (int)(bit % 8));
            AssertSameOutcome(file);
        });

    [Property(MaxTest = 150)]
    public Property Truncations_are_reported_alike() =>
        Prop.ForAll(Files.ToArbitrary(), ArbMap.Default.GeneratorFor<int>().ToArbitrary(), (file, where) =>
            AssertSameOutcome(file[..(int)((uint)where % file.Length)]));

    /// <summary>Above 4 MiB VerifyToEnd checks the checksums on all cores first: the same faults, found in the same order.</summary>
    [Fact]
    public void Large_files_checked_in_parallel_are_rejected_alike()
    {
        var random = new Random(11);
        var pages = new byte[6 << 20];
        random.NextBytes(pages);
        var stream = new MemoryStream();
        using (var writer = new CheckpointWriter(stream, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.WritePages(0x7f0000000000, pages);
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }
        byte[] file = stream.ToArray();
        AssertSameOutcome(file);
        foreach (int at in new[] { 200, file.Length / 3, file.Length / 2, file.Length - 30 })
        {
            var flipped = (byte[])file.Clone();
            flipped[at] ^= 0x10;
            AssertSameOutcome(flipped);
            var twice = (byte[])flipped.Clone();
            twice[file.Length - at / 7 - 1] ^= 0x01; // two faults: the first in file order is reported
            AssertSameOutcome(twice);
            AssertSameOutcome(file[..at]);
        }
    }

    [Fact]
    public void Payloads_stay_valid_after_later_items_are_read()
    {
        byte[] file = SampleFiles.Build("process");
        string path = Path.Combine(_dir, "process.cryo");
        File.WriteAllBytes(path, file);
        var copies = RawCheckpoint.ReadAll(file);
        using var reader = CheckpointReader.OpenMapped(path);
        Assert.True(reader.PayloadsPersist);
        var kept = new List<CheckpointItem>();
        while (reader.GetNextItem() is { } item) kept.Add(item);
        Assert.Equal(copies.Count, kept.Count);
        for (int i = 0; i < kept.Count; i++)
            Assert.True(ItemComparer.Difference(copies[i], kept[i]) is null, $"item {i}: {ItemComparer.Difference(copies[i], kept[i])}");
    }

    [Fact]
    public void A_file_written_to_after_it_was_mapped_is_reported_as_changed()
    {
        string path = Path.Combine(_dir, "changed.cryo");
        File.WriteAllBytes(path, SampleFiles.Build("process"));
        using (var reader = CheckpointReader.OpenMapped(path))
        {
            reader.VerifyToEnd();
            reader.CheckUnchanged();
            using (var other = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) other.Write([0x55], 0, 1);
            // The write's own timestamp may fall in the same clock tick as the first: set one that cannot.
            File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(1));
            var e = Assert.Throws<IOException>(reader.CheckUnchanged);
            Assert.Contains("changed while it was read", e.Message);
        }
        File.WriteAllBytes(path, SampleFiles.Build("process"));
        using var grown = CheckpointReader.OpenMapped(path);
        File.AppendAllText(path, "x");
        Assert.Throws<IOException>(grown.CheckUnchanged);

        using var stream = new CheckpointReader(new MemoryStream(SampleFiles.Build("minimal")));
        Assert.Throws<InvalidOperationException>(stream.Rewind);
    }

    [Fact]
    public void An_empty_file_is_rejected_like_a_stream()
    {
        string path = Path.Combine(_dir, "empty.cryo");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.OpenMapped(path));
        Assert.Contains("ends inside the header", e.Message);
    }
}
