using iCrm.Functions.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddIcrmFunctions();

var app = builder.Build();
app.MapIcrmFunctions();
app.Run();

/// <summary>The custom handler's entry point (public for WebApplicationFactory tests).</summary>
public partial class Program;
