namespace iCrm.Ml.Tests.Lifetime;

/// <summary>
/// A measurement on production-sized synthetic data: slow, so skipped unless ICRM_MEASURE=1. It prints figures and
/// checks results, never timings. Run: ICRM_MEASURE=1 dotnet test tests/iCrm.Ml.Tests -c Release
/// --filter "FullyQualifiedName~Measurement" --logger "console;verbosity=detailed"
/// </summary>
public sealed class MeasurementFactAttribute : FactAttribute
{
    public MeasurementFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ICRM_MEASURE") != "1") Skip = "Measurement: set ICRM_MEASURE=1 to run.";
    }
}
