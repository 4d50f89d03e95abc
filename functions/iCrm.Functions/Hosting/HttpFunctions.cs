using System.Reflection;
using iCrm.Functions.Api;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Azure.Functions.Worker;

namespace iCrm.Functions.Hosting;

/// <summary>One HTTP-triggered function as its attributes declare it: the single source of its name, route, methods and
/// host auth level for the Functions host (through the SDK's generated metadata), the local host and the OpenAPI document.
/// Every function is anonymous at the host; who may call it is the app's decision (<see cref="IsPublic"/>, else its roles).</summary>
public sealed record HttpFunction(string Name, string Route, IReadOnlyList<string> Methods, AuthorizationLevel AuthLevel, MethodInfo Method)
{
    /// <summary>The path the function answers at: the host's route prefix (host.json <c>extensions.http.routePrefix</c>) + its route.</summary>
    public string Path => $"/{HttpFunctions.RoutePrefix}/{Route}";

    /// <summary>Callable without a key or sign-in: marked <see cref="PublicEndpointAttribute"/> and declaring no roles (a
    /// function marked both ways keeps its role check: the safer reading).</summary>
    public bool IsPublic => Method.IsDefined(typeof(PublicEndpointAttribute)) && !Method.IsDefined(typeof(RequiresRoleAttribute));
}

/// <summary>Finds the app's HTTP functions by reflection and maps them onto a plain ASP.NET Core app, so that local runs
/// (no Functions host) and the OpenAPI document serve exactly the routes the host would.</summary>
public static class HttpFunctions
{
    public const string RoutePrefix = "api";

    public static IReadOnlyList<HttpFunction> All { get; } = Discover(typeof(HttpFunctions).Assembly);

    public static IReadOnlyList<HttpFunction> Discover(Assembly assembly) =>
    [
        .. from type in assembly.GetTypes()
           where type is { IsClass: true, IsAbstract: false }
           from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)
           let function = method.GetCustomAttribute<FunctionAttribute>()
           where function is not null
           let trigger = method.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).FirstOrDefault(t => t is not null)
           where trigger is not null
           orderby function.Name
           select new HttpFunction(function.Name, trigger.Route ?? function.Name,
               [.. (trigger.Methods ?? ["get", "post"]).Select(m => m.ToUpperInvariant())], trigger.AuthLevel, method),
    ];

    /// <summary>Maps each function at <see cref="HttpFunction.Path"/>. The endpoint carries the method's attributes
    /// (summary, tags, produces…) and its <see cref="MethodInfo"/>, so ASP.NET Core's OpenAPI generator describes it as it
    /// would a minimal-API handler; <paramref name="configure"/> adds conventions (the local key checks).</summary>
    public static void MapHttpFunctions(this IEndpointRouteBuilder endpoints, IEnumerable<HttpFunction> functions,
        Action<HttpFunction, IEndpointConventionBuilder>? configure = null)
    {
        foreach (var function in functions)
        {
            var builder = endpoints.MapMethods(function.Path, function.Methods, CreateHandler(function))
                .WithName(function.Name)
                .WithMetadata(function.Method)
                .WithMetadata(function);
            foreach (var attribute in function.Method.GetCustomAttributes(inherit: true))
            {
                builder.WithMetadata(attribute);
            }
            // The caller a function needs is part of its contract: 401 without a valid key or sign-in, 403 without one of its roles.
            var declared = function.Method.GetCustomAttributes<ProducesProblemAttribute>().Select(p => p.StatusCode).ToHashSet();
            if (!function.IsPublic && !declared.Contains(StatusCodes.Status401Unauthorized))
            {
                builder.WithMetadata(new ProducesProblemAttribute(StatusCodes.Status401Unauthorized));
            }
            if (!function.IsPublic && !declared.Contains(StatusCodes.Status403Forbidden))
            {
                builder.WithMetadata(new ProducesProblemAttribute(StatusCodes.Status403Forbidden));
            }
            configure?.Invoke(function, builder);
        }
    }

    /// <summary>Binds what a Functions host binds for these signatures: the request, route values by parameter name and the
    /// cancellation token; creates the function class per invocation from the request's services, as the worker does.</summary>
    private static RequestDelegate CreateHandler(HttpFunction function)
    {
        var method = function.Method;
        var factory = method.IsStatic ? null : ActivatorUtilities.CreateFactory(method.DeclaringType!, Type.EmptyTypes);
        var parameters = method.GetParameters();
        var binders = parameters.Select<ParameterInfo, Func<HttpContext, object?>>(p =>
        {
            if (p.ParameterType == typeof(HttpRequest))
            {
                return c => c.Request;
            }
            if (p.ParameterType == typeof(HttpContext))
            {
                return c => c;
            }
            if (p.ParameterType == typeof(CancellationToken))
            {
                return c => c.RequestAborted;
            }
            // {name}, {name?} and the catch-all {*name} bind alike.
            if (p.ParameterType == typeof(string) && (function.Route.Contains('{' + p.Name, StringComparison.OrdinalIgnoreCase)
                || function.Route.Contains("{*" + p.Name, StringComparison.OrdinalIgnoreCase)))
            {
                var name = p.Name!;
                return c => c.Request.RouteValues[name] as string;
            }
            throw new InvalidOperationException($"Function {function.Name}: parameter '{p.Name}' ({p.ParameterType.Name}) cannot be bound locally.");
        }).ToArray();

        return async context =>
        {
            var instance = factory?.Invoke(context.RequestServices, null);
            var arguments = new object?[binders.Length];
            for (var i = 0; i < binders.Length; i++)
            {
                arguments[i] = binders[i](context);
            }
            object? result;
            try
            {
                result = method.Invoke(instance, arguments);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
                throw;
            }
            switch (result)
            {
                case Task<IResult> task:
                    await (await task).ExecuteAsync(context);
                    break;
                case IResult value:
                    await value.ExecuteAsync(context);
                    break;
                case Task task:
                    await task;
                    break;
            }
        };
    }
}
