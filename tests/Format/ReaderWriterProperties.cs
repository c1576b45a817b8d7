using Cryo.Format;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Cryo.Tests.Format;

/// <summary>Properties of the writer and reader over arbitrary valid files and arbitrary damage to them.</summary>
public class ReaderWriterProperties
{
    /// <summary>What the reader must return for written items: data longer than a chunk arrives split.</summary>
    private static IEnumerable<CheckpointItem> AsRead(IEnumerable<CheckpointItem> written)
    {
        foreach (var item in written)
        {
            switch (item)
            {
                case PageData p:
                    for (int at = 0; at < p.Data.Length; at += FormatLimits.DataChunk)
                        yield return new PageData(p.Address + (ulong)at, p.Data.Slice(at, Math.Min(FormatLimits.DataChunk, p.Data.Length - at)));
                    break;
                case PipeData d:
                    int offset = 0;
                    do
                    {
                        int n = Math.Min(FormatLimits.DataChunk, d.Data.Length - offset);
                        yield return new PipeData(d.PipeId, d.Data.Slice(offset, n));
                        offset += n;
                    } while (offset < d.Data.Length);
                    break;
                default: yield return item; break;
            }
        }
    }

    [Property(MaxTest = 60)]
    public Property Written_items_read_back_identically() =>
        Prop.ForAll(ItemGenerators.Body.ToArbitrary(), items =>
        {
            var expected = AsRead(items).ToList();
            var actual = RawCheckpoint.ReadAll(ItemGenerators.Write(items));
            Assert.Equal(expected.Count, actual.Count);
            for (int i = 0; i < expected.Count; i++)
                Assert.True(ItemComparer.Difference(expected[i], actual[i]) is null,
                    $"item {i}: {ItemComparer.Difference(expected[i], actual[i])}");
        });

    private static Gen<byte[]> SmallFiles =>
        ItemGenerators.Body.Where(items => items.Sum(ItemGenerators.DataBytes) < 256 << 10)
            .Select(ItemGenerators.Write);

    [Property(MaxTest = 300)]
    public Property Every_flipped_bit_is_reported() =>
        Prop.ForAll(SmallFiles.ToArbitrary(), ArbMap.Default.GeneratorFor<int>().ToArbitrary(), (file, where) =>
        {
            long bit = (long)(uint)where % (file.Length * 8L);
            file[bit / 8] ^= (byte)(1 << (int)(bit % 8));
            Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(file, returnUnknown: true));
        });

    [Property(MaxTest = 300)]
    public Property Truncation_anywhere_is_reported() =>
        Prop.ForAll(SmallFiles.ToArbitrary(), ArbMap.Default.GeneratorFor<int>().ToArbitrary(), (file, where) =>
        {
            int length = (int)((uint)where % file.Length);
            var ex = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(file[..length]));
            Assert.True(ex.Offset <= length, $"offset {ex.Offset} lies beyond the {length} bytes given");
        });

    [Fact]
    public void Every_bit_of_the_process_sample_is_protected()
    {
        byte[] original = SampleFiles.Build("process");
        var file = (byte[])original.Clone();
        for (long bit = 0; bit < file.Length * 8L; bit++)
        {
            file[bit / 8] ^= (byte)(1 << (int)(bit % 8));
            try
            {
                RawCheckpoint.ReadAll(file, returnUnknown: true);
                Assert.Fail($"flipping bit {bit % 8} of byte {bit / 8} went unnoticed");
            }
            catch (CheckpointFormatException) { }
            file[bit / 8] = original[bit / 8];
        }
    }

    [Fact]
    public void Every_truncation_of_the_tree_sample_is_reported()
    {
        byte[] file = SampleFiles.Build("tree");
        for (int length = 0; length < file.Length; length += length < 4096 ? 1 : 997)
            Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(file[..length]));
    }

    [Property(MaxTest = 200)]
    public Property A_forged_length_allocates_no_more_than_the_bytes_present() =>
        Prop.ForAll(Gen.Choose(0, 1 << 16).ToArbitrary(), Gen.Choose(1 << 17, FormatLimits.MaxPayload).ToArbitrary(), (present, claimed) =>
        {
            byte[] file = new RawCheckpoint().Frame("PAGE", ItemFlags.Critical, new byte[present]).Complete();
            int frame = file.Length - 28 - 16 - present; // header length: the trailer (28) and this frame (12 + present + 4) follow it
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(frame + 8), (uint)claimed);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Assert.Throws<CheckpointFormatException>(() =>
            {
                using var reader = new CheckpointReader(new MemoryStream(file));
                while (reader.GetNextItem() is not null) { }
            });
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 2L * file.Length + (256 << 10),
                $"a {file.Length}-byte file claiming a {claimed}-byte payload made the reader allocate {allocated} bytes");
        });
}
