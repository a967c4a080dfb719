import { useQuery } from "@tanstack/react-query";
import { apiJson, type ModelList } from "../api";
import { useAuth } from "../auth";

/** The routes this key may call (GET /v1/models). */
export function useRoutes() {
  const { key } = useAuth();
  return useQuery({
    queryKey: ["models"],
    queryFn: async () => (await apiJson<ModelList>(key, "/v1/models")).data.map((m) => m.id),
  });
}
