using Cryo.Format;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace Cryo.Tests.Format;

public class Crc32CTests
{
    /// <summary>Bit by bit from the definition, for comparison with the fast path.</summary>
    private static uint Reference(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return ~crc;
    }

    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("123456789", 0xE3069283u)] // the catalogue check value of CRC-32C
    [InlineData("a", 0xC1D04330u)]
    public void Known_values(string text, uint expected) =>
        Assert.Equal(expected, Crc32C.Compute(System.Text.Encoding.ASCII.GetBytes(text)));

    [Property(MaxTest = 40)]
    public Property Fast_path_matches_the_definition_for_any_length_and_split() =>
        Prop.ForAll(ItemGenerators.Bytes(100_000).ToArbitrary(), Gen.Choose(0, 100_000).ToArbitrary(), (data, splitAt) =>
        {
            int split = Math.Min(splitAt, data.Length);
            var incremental = new Crc32C();
            incremental.Append(data.AsSpan(0, split));
            incremental.Append(data.AsSpan(split));
            uint expected = Reference(data);
            Assert.Equal(expected, Crc32C.Compute(data));
            Assert.Equal(expected, incremental.Current);
        });
}
